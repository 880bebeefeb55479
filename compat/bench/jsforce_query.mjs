// jsforce's query with autoFetch against the local org, as the query benchmark runs it.
//
// Usage: node jsforce_query.mjs SOQL, with FORCEBRIDGE_ORG_INFO naming the org's details and
// NODE_EXTRA_CA_CERTS its certificate. Prints how many records came back.

import { readFileSync } from 'node:fs';
import jsforce from 'jsforce';

const org = JSON.parse(readFileSync(process.env.FORCEBRIDGE_ORG_INFO, 'utf8').split('\n')[0]);
const conn = new jsforce.Connection({ instanceUrl: org.url, accessToken: org.access_token, version: '60.0' });
const result = await conn.query(process.argv[2]).run({ autoFetch: true, maxFetch: Number.MAX_SAFE_INTEGER });
console.log(result.records.length);
