import { expect, it } from 'vitest'
import { classifySqlSync, loadSqlClassifier } from '../../../src/policy/sql/index.ts'

const OLTP = [
  'SELECT abalance FROM pgbench_accounts WHERE aid = $1',
  'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2',
  'INSERT INTO orders (customer_id, total) VALUES ($1, $2) RETURNING id, created_at',
]
/** workerd's clock moves in whole milliseconds, so time batches long enough to resolve µs. */
const BATCH = 500
const BATCHES = 30
const BUDGET_MICROS = 200

it('classifies typical OLTP statements within the policy budget inside workerd', async () => {
  await loadSqlClassifier()
  for (let i = 0; i < 5_000; i++) classifySqlSync(OLTP[i % OLTP.length] as string)
  const perStatementMicros: number[] = []
  for (let batch = 0; batch < BATCHES; batch++) {
    const start = performance.now()
    for (let i = 0; i < BATCH; i++) classifySqlSync(OLTP[i % OLTP.length] as string)
    perStatementMicros.push(((performance.now() - start) * 1000) / BATCH)
  }
  // The slowest batch's mean: a smoothed tail (bench/sql-classification.ts has the true p99).
  expect(Math.max(...perStatementMicros)).toBeLessThan(BUDGET_MICROS)
})
