"""EN 16931 e-invoices from posted documents: UBL, CII (Factur-X), PDF, and the official rules."""
