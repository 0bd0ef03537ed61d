"""The key set every test process encrypts with: committed for the tests alone, never used
anywhere else. tests/histories/encrypted/ was recorded under it, so it must not change."""

import json

TEST_KEY_ID = "q2c-test-2026"
TEST_KEY = "V3fqI3HTDJUfD115n4FIl9WXFNpD1hHaNRdszUwiRi8="
TEST_KEY_SET = json.dumps({TEST_KEY_ID: TEST_KEY})
