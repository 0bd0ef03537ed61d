"""Master-data checks on a customer before anything is billed to them."""

from schemas.contract import Contract
from schemas.customer import Customer
from schemas.runs import Problem


def check_customer(customer: Customer, contract: Contract) -> list[Problem]:
    """Every problem found, each blocking or a warning; an empty list means clean."""
    problems: list[Problem] = []
    if customer.id != contract.customer_id:
        problems.append(
            Problem(
                field="customer.id",
                code="customer_mismatch",
                message=f"contract bills {contract.customer_id}, not {customer.id}",
            )
        )
    if customer.address is None or not customer.address.country:
        problems.append(
            Problem(
                field="customer.address.country",
                code="missing_country",
                message="the customer has no country, so tax cannot be decided",
            )
        )
    if customer.currency.upper() != contract.currency:
        problems.append(
            Problem(
                field="customer.currency",
                code="currency_mismatch",
                message=f"customer pays in {customer.currency}, contract is in {contract.currency}",
            )
        )
    return problems
