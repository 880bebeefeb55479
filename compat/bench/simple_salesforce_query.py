"""simple-salesforce's query_all against the local org, as the query benchmark runs it.

Usage: python simple_salesforce_query.py SOQL, with FORCEBRIDGE_ORG_INFO naming the org's
details and REQUESTS_CA_BUNDLE its certificate. Prints how many records came back.
"""

import json
import os
import sys

from simple_salesforce import Salesforce

with open(os.environ["FORCEBRIDGE_ORG_INFO"], encoding="utf-8") as f:
    org = json.loads(f.readline())

sf = Salesforce(instance_url=org["url"], session_id=org["access_token"], version="60.0")
result = sf.query_all(sys.argv[1])
print(len(result["records"]))
