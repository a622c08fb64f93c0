/**
 * The column-lineage cases of the masking tests, shared by the worker tests (through the
 * gateway's own Postgres client) and the e2e tests (psql and node-postgres). Each names
 * which result columns derive from a sensitive column, by the strategy that masks them:
 * email → token, card → partial, phone → fake, ssn → redact; `json` is a JSON value that
 * mixes several of them, masked whole with the strongest (redact) as a JSON string.
 */
import type { MaskStrategy } from '../../src/masking/types.ts'

/** Which columns of a statement's result derive from which strategy's column. */
export const LINEAGE_CASES: [sql: string, masked: Record<number, MaskStrategy | 'json'>][] = [
  ['SELECT id, email FROM customers ORDER BY id', { 1: 'token' }],
  ['SELECT upper(email) FROM customers ORDER BY id', { 0: 'token' }],
  ["SELECT email || '' AS e FROM customers ORDER BY id", { 0: 'token' }],
  ['SELECT substr(email, 1, 3) FROM customers ORDER BY id', { 0: 'token' }],
  ['SELECT concat(name, email) FROM customers ORDER BY id', { 0: 'token' }],
  [
    'SELECT email::varchar(200), card::text FROM customers ORDER BY id',
    { 0: 'token', 1: 'partial' },
  ],
  ["SELECT encode(convert_to(email, 'UTF8'), 'base64') FROM customers ORDER BY id", { 0: 'token' }],
  ['WITH c AS (SELECT id, email AS e FROM customers) SELECT e FROM c ORDER BY id', { 0: 'token' }],
  ['SELECT x FROM (SELECT id, card AS x FROM customers) s ORDER BY id', { 0: 'partial' }],
  ['SELECT * FROM customer_emails ORDER BY id', { 1: 'token' }],
  ['SELECT name, shouted, contact FROM customer_contacts ORDER BY id', { 1: 'token', 2: 'token' }],
  ['SELECT * FROM gold_contacts', { 0: 'token' }],
  ['SELECT row_to_json(u) FROM customers u ORDER BY id', { 0: 'json' }],
  ['SELECT json_agg(u) FROM customers u', { 0: 'json' }],
  ['SELECT array_agg(email ORDER BY id) FROM customers', { 0: 'token' }],
  ['SELECT u FROM customers u ORDER BY id', { 0: 'redact' }],
  ['SELECT phone FROM customers ORDER BY id', { 0: 'fake' }],
  ['SELECT card FROM payments_eu', { 0: 'partial' }],
  ['SELECT * FROM payments', { 2: 'partial' }],
  [
    'SELECT c.id, c.card, o.total FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.id',
    { 1: 'partial' },
  ],
  [
    'SELECT c.*, o.status FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.id',
    { 1: 'token', 3: 'partial', 4: 'fake', 6: 'redact' },
  ],
]
