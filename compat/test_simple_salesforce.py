"""simple-salesforce, unchanged, against the forcebridge local org.

The org is started by compat/run, which writes its URL and login details to the file named by
FORCEBRIDGE_ORG_INFO and makes its self-signed certificate trusted through REQUESTS_CA_BUNDLE.
simple-salesforce builds login URLs as https://{domain}.salesforce.com/...; passing a `domain`
that ends in '#' points it at the local org (everything after the '#' becomes a URL fragment,
which is never sent).
"""

import csv
import io
import json
import os
import time
import unittest
import uuid
from urllib.parse import urlparse

from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

with open(os.environ["FORCEBRIDGE_ORG_INFO"], encoding="utf-8") as f:
    ORG = json.loads(f.readline())

URL = urlparse(ORG["url"])
HOST = URL.netloc  # localhost:PORT
VERSION = "59.0"


def domain_for(path):
    """A `domain` value that makes simple-salesforce call `path` on the local org."""
    return f"{HOST}{path}#"


def unique(prefix):
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def session():
    """A Salesforce client logged in through SOAP (simple-salesforce's default login)."""
    return Salesforce(
        username=ORG["username"],
        password=ORG["password"],
        security_token=ORG["security_token"],
        domain=domain_for(f"/services/Soap/u/{VERSION}"),
        version=VERSION,
    )


class Login(unittest.TestCase):
    def test_soap_login_then_rest(self):
        sf = session()
        self.assertEqual(sf.sf_instance, HOST)
        self.assertTrue(sf.session_id)
        result = sf.query("SELECT Id, Username FROM User")
        self.assertGreaterEqual(result["totalSize"], 1)

    def test_soap_login_failure_is_reported(self):
        with self.assertRaises(SalesforceAuthenticationFailed) as failure:
            SalesforceLogin(
                username=ORG["username"],
                password="wrong",
                domain=domain_for(f"/services/Soap/u/{VERSION}"),
                sf_version=VERSION,
            )
        self.assertIn("INVALID_LOGIN", str(failure.exception))

    def test_oauth_password_login(self):
        # With a security_token simple-salesforce always logs in through SOAP; for the OAuth
        # password grant the token goes at the end of the password instead.
        session_id, instance = SalesforceLogin(
            username=ORG["username"],
            password=ORG["password"] + ORG["security_token"],
            consumer_key=ORG["client_id"],
            consumer_secret=ORG["client_secret"],
            domain=domain_for("/services/oauth2/token"),
        )
        self.assertEqual(instance, HOST)
        sf = Salesforce(instance=instance, session_id=session_id, version=VERSION)
        self.assertIn("sobjects", sf.describe())

    def test_session_and_instance_url(self):
        sf = session()
        direct = Salesforce(instance_url=ORG["url"], session_id=sf.session_id, version=VERSION)
        self.assertEqual(direct.query("SELECT COUNT() FROM Account")["records"], [])


class Rest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sf = session()

    def test_crud_round_trip(self):
        name = unique("Compat Account")
        created = self.sf.Account.create({"Name": name, "Industry": "Media"})
        self.assertEqual(created["success"], True)
        self.assertEqual(created["errors"], [])
        account_id = created["id"]
        self.assertEqual(len(account_id), 18)
        record = self.sf.Account.get(account_id)
        self.assertEqual(record["Name"], name)
        self.assertEqual(record["attributes"]["type"], "Account")
        self.assertEqual(self.sf.Account.update(account_id, {"Industry": "Energy"}), 204)
        self.assertEqual(self.sf.Account.get(account_id)["Industry"], "Energy")
        self.assertEqual(self.sf.Account.delete(account_id), 204)
        with self.assertRaises(SalesforceResourceNotFound):
            self.sf.Account.get(account_id)

    def test_upsert_by_external_id(self):
        key = uuid.uuid4().hex[:10]
        self.assertEqual(self.sf.Product2.upsert(f"ExternalId/{key}", {"Name": "Widget"}), 201)
        self.assertEqual(self.sf.Product2.upsert(f"ExternalId/{key}", {"Name": "Widget 2"}), 200)
        self.assertEqual(self.sf.Product2.get_by_custom_id("ExternalId", key)["Name"], "Widget 2")

    def test_query_pages_through_next_records_url(self):
        prefix = unique("Paging")
        self.sf.bulk2.Contact.insert(
            records=[{"LastName": f"{prefix} {i:04d}"} for i in range(450)], wait=1
        )
        soql = f"SELECT Id, LastName FROM Contact WHERE LastName LIKE '{prefix}%' ORDER BY LastName"
        first = self.sf.query(soql, headers={"Sforce-Query-Options": "batchSize=200"})
        self.assertEqual(first["totalSize"], 450)
        self.assertFalse(first["done"])
        self.assertTrue(first["nextRecordsUrl"].startswith("/services/data/"))
        everything = self.sf.query_all(soql)
        self.assertEqual(len(everything["records"]), 450)
        names = [r["LastName"] for r in everything["records"]]
        self.assertEqual(names, sorted(names))
        iterated = sum(1 for _ in self.sf.query_all_iter(soql))
        self.assertEqual(iterated, 450)

    def test_relationships_and_aggregates(self):
        account = self.sf.Account.create({"Name": unique("Parent")})["id"]
        self.sf.Contact.create({"LastName": "Child", "AccountId": account})
        rows = self.sf.query(
            f"SELECT Name, Account.Name FROM Contact WHERE AccountId = '{account}'"
        )["records"]
        self.assertEqual(rows[0]["Account"]["attributes"]["type"], "Account")
        counted = self.sf.query(f"SELECT COUNT(Id) FROM Contact WHERE AccountId = '{account}'")
        self.assertEqual(counted["records"][0]["expr0"], 1)

    def test_malformed_query_is_a_malformed_request(self):
        with self.assertRaises(SalesforceMalformedRequest) as failure:
            self.sf.query("SELECT Id FROMM Account")
        self.assertEqual(failure.exception.content[0]["errorCode"], "MALFORMED_QUERY")

    def test_describe(self):
        describe = self.sf.Contact.describe()
        fields = {f["name"]: f for f in describe["fields"]}
        self.assertEqual(fields["AccountId"]["referenceTo"], ["Account"])
        names = [o["name"] for o in self.sf.describe()["sobjects"]]
        self.assertIn("Opportunity", names)
        self.assertEqual(self.sf.Account.metadata()["objectDescribe"]["keyPrefix"], "001")

    def test_search(self):
        name = unique("Searchable")
        self.sf.Account.create({"Name": name})
        found = self.sf.search("FIND {%s} IN NAME FIELDS RETURNING Account(Id, Name)" % name.split()[-1])
        self.assertEqual([r["Name"] for r in found["searchRecords"]], [name])
        quick = self.sf.quick_search(name.split()[-1])
        self.assertEqual(len(quick["searchRecords"]), 1)


class Bulk2(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sf = session()

    def test_insert_then_query(self):
        prefix = unique("Bulk")
        results = self.sf.bulk2.Account.insert(
            records=[{"Name": f"{prefix} {i}", "NumberOfEmployees": i} for i in range(120)],
            wait=1,
        )
        self.assertEqual(sum(r["numberRecordsProcessed"] for r in results), 120)
        self.assertEqual(sum(r["numberRecordsFailed"] for r in results), 0)
        rows = []
        for chunk in self.sf.bulk2.Account.query(
            f"SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '{prefix}%'",
            max_records=50,
            wait=1,
        ):
            rows.extend(csv.DictReader(io.StringIO(chunk)))
        self.assertEqual(len(rows), 120)
        self.assertEqual(sorted(int(r["NumberOfEmployees"]) for r in rows), list(range(120)))

    def test_failed_records_are_reported(self):
        # An empty cell sets nothing, so the second contact has no LastName.
        results = self.sf.bulk2.Contact.insert(
            records=[{"LastName": "Ok", "Email": ""}, {"LastName": "", "Email": "nobody@example.com"}],
            wait=1,
        )
        self.assertEqual(sum(r["numberRecordsFailed"] for r in results), 1)
        job = results[0]["job_id"]
        failed = self.sf.bulk2.Contact.get_failed_records(job)
        self.assertIn("REQUIRED_FIELD_MISSING", failed)


if __name__ == "__main__":
    unittest.main()
