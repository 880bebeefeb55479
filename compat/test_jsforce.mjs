// jsforce, unchanged, against the forcebridge local org.
//
// compat/run starts the org over HTTPS, writes its URL and login details to the file named by
// FORCEBRIDGE_ORG_INFO, and makes Node trust its certificate through NODE_EXTRA_CA_CERTS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import jsforce from 'jsforce';

const org = JSON.parse(readFileSync(process.env.FORCEBRIDGE_ORG_INFO, 'utf8').split('\n')[0]);
const version = '60.0';
const unique = (prefix) => `${prefix} ${randomUUID().slice(0, 8)}`;

async function soapLogin() {
  const conn = new jsforce.Connection({ loginUrl: org.url, version });
  await conn.login(org.username, org.password + org.security_token);
  return conn;
}

test('SOAP login gives an instance, a user and an org', async () => {
  const conn = new jsforce.Connection({ loginUrl: org.url, version });
  const info = await conn.login(org.username, org.password + org.security_token);
  assert.match(info.id, /^005/);
  assert.match(info.organizationId, /^00D/);
  assert.equal(new URL(conn.instanceUrl).host, new URL(org.url).host);
  const identity = await conn.identity();
  assert.equal(identity.username, org.username);
});

test('OAuth2 password login', async () => {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: org.url, clientId: org.client_id, clientSecret: org.client_secret },
    version,
  });
  const info = await conn.login(org.username, org.password + org.security_token);
  assert.match(info.id, /^005/);
  const result = await conn.query('SELECT Id FROM User');
  assert.ok(result.totalSize >= 1);
});

test('bad credentials are refused', async () => {
  const conn = new jsforce.Connection({ loginUrl: org.url, version });
  await assert.rejects(conn.login(org.username, 'wrong'), /INVALID_LOGIN|Invalid username/);
});

test('query follows locators to the end', async () => {
  const conn = await soapLogin();
  const prefix = unique('Paging');
  const records = Array.from({ length: 450 }, (_, i) => ({ LastName: `${prefix} ${String(i).padStart(4, '0')}` }));
  const saved = await conn.sobject('Contact').create(records, { allowRecursive: true });
  assert.equal(saved.filter((r) => r.success).length, 450);
  const soql = `SELECT Id, LastName FROM Contact WHERE LastName LIKE '${prefix}%' ORDER BY LastName`;
  const first = await conn.query(soql, { headers: { 'Sforce-Query-Options': 'batchSize=200' } });
  assert.equal(first.totalSize, 450);
  assert.equal(first.done, false);
  const more = await conn.queryMore(first.nextRecordsUrl);
  assert.equal(more.records.length, 200);
  const all = await conn.query(soql).run({ autoFetch: true, maxFetch: 10000 });
  assert.equal(all.records.length, 450);
  const scanned = await conn.query(soql, { scanAll: true });
  assert.equal(scanned.totalSize, 450);
});

test('CRUD on single records and collections', async () => {
  const conn = await soapLogin();
  const name = unique('Compat');
  const created = await conn.sobject('Account').create({ Name: name });
  assert.equal(created.success, true);
  const fetched = await conn.sobject('Account').retrieve(created.id);
  assert.equal(fetched.Name, name);
  const updated = await conn.sobject('Account').update({ Id: created.id, Industry: 'Media' });
  assert.deepEqual(updated, { id: created.id, success: true, errors: [] });
  const many = await conn.sobject('Contact').create([
    { LastName: 'One', AccountId: created.id },
    { LastName: 'Two', AccountId: created.id },
  ]);
  assert.deepEqual(many.map((r) => r.success), [true, true]);
  const retrieved = await conn.sobject('Contact').retrieve(many.map((r) => r.id));
  assert.deepEqual(retrieved.map((r) => r.LastName), ['One', 'Two']);
  const key = randomUUID().slice(0, 10);
  const upserted = await conn.sobject('Product2').upsert({ ExternalId: key, Name: 'Widget' }, 'ExternalId');
  assert.equal(upserted.created, true);
  const destroyed = await conn.sobject('Contact').destroy(many.map((r) => r.id));
  assert.deepEqual(destroyed.map((r) => r.success), [true, true]);
  await conn.sobject('Account').destroy(created.id);
  await assert.rejects(conn.sobject('Account').retrieve(created.id), /ENTITY_IS_DELETED|NOT_FOUND/);
});

test('describe and describeGlobal', async () => {
  const conn = await soapLogin();
  const global = await conn.describeGlobal();
  assert.ok(global.sobjects.some((o) => o.name === 'Opportunity'));
  const contact = await conn.describe('Contact');
  const accountId = contact.fields.find((f) => f.name === 'AccountId');
  assert.deepEqual(accountId.referenceTo, ['Account']);
});

test('SOSL search', async () => {
  const conn = await soapLogin();
  const word = randomUUID().slice(0, 8);
  await conn.sobject('Account').create({ Name: `Searchable ${word}` });
  const found = await conn.search(`FIND {${word}} IN NAME FIELDS RETURNING Account(Id, Name)`);
  assert.equal(found.searchRecords.length, 1);
  assert.equal(found.searchRecords[0].Name, `Searchable ${word}`);
});

test('Bulk 2.0 insert then query', async () => {
  const conn = await soapLogin();
  conn.bulk2.pollInterval = 200;
  conn.bulk2.pollTimeout = 60000;
  const prefix = unique('Bulk');
  const input = Array.from({ length: 120 }, (_, i) => ({ Name: `${prefix} ${i}`, NumberOfEmployees: i }));
  const results = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input });
  assert.equal(results.successfulResults.length, 120);
  assert.equal(results.failedResults.length, 0);
  const stream = await conn.bulk2.query(`SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '${prefix}%'`);
  const rows = [];
  for await (const record of stream) rows.push(record);
  assert.equal(rows.length, 120);
});
