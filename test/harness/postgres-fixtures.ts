/** The tables the Postgres tests run against, owned by the gateway's service role. */
import { PG_ROLES, type PostgresServer } from './postgres-server.ts'

export const SEED_SQL = `
SET ROLE ${PG_ROLES.scram.user};
CREATE TABLE customers (
  id serial PRIMARY KEY, email text NOT NULL, name text NOT NULL, card text, phone text, notes text,
  ssn text, profile jsonb
);
INSERT INTO customers (email, name, card, phone, notes, ssn, profile) VALUES
  ('ada@example.com', 'Ada Lovelace', '4111111111111111', '+44 20 7946 0018', 'prefers email',
   '536-22-8471', '{"tier": "gold", "since": 2019}'),
  ('grace@example.com', 'Grace Hopper', '5500005555555559', '+1 202 555 0143', NULL,
   '412-58-3920', NULL),
  ('alan@example.com', 'Alan Turing', '340000000000009', NULL,
   'rotated AKIAIOSFODNN7EXAMPLE; new key sk-proj-4f9Xk2LmQ8vT1rZ7pW3yB6nDq0; call ada@example.com',
   NULL, '{"tier": "basic"}');
CREATE TABLE orders (
  id serial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10, 2) NOT NULL,
  status text NOT NULL DEFAULT 'open', created_at timestamptz NOT NULL DEFAULT '2026-01-02T03:04:05Z'
);
INSERT INTO orders (customer_id, total, status) VALUES (1, 42.50, 'paid'), (2, 19.99, 'open'), (1, 7.00, 'refunded');
CREATE TABLE secrets (id int PRIMARY KEY, value text NOT NULL);
INSERT INTO secrets VALUES (1, 'launch-codes');
CREATE TABLE numbers AS SELECT g AS n, md5(g::text) AS digest FROM generate_series(1, 100000) AS g;
CREATE VIEW customer_emails AS SELECT id, email FROM customers;
CREATE VIEW customer_contacts AS
  SELECT id, name, upper(email) AS shouted, name || ' <' || email || '>' AS contact FROM customers;
CREATE VIEW gold_contacts AS SELECT contact FROM customer_contacts WHERE id = 1;
CREATE TABLE payments (id int, region text, card text) PARTITION BY LIST (region);
CREATE TABLE payments_eu PARTITION OF payments FOR VALUES IN ('eu');
INSERT INTO payments VALUES (1, 'eu', '4111111111111111');
RESET ROLE;
`

export function seedPostgres(server: PostgresServer): void {
  server.sql(SEED_SQL)
}
