import { describe, expect, it } from 'vitest'
import { alignLineage, sensitiveViews } from '../../../src/masking/sql/index.ts'
import {
  BASE,
  CARD,
  col,
  columns,
  EMAIL,
  PHONE,
  parseOne,
  SPREAD,
} from './masking-lineage.fixture.ts'

function lineage(...items: Parameters<typeof columns>) {
  return columns(...items) as ReturnType<typeof columns> & { kind: 'columns' }
}

describe('alignLineage', () => {
  it('matches a lineage without spreads only to its own column count', () => {
    expect(alignLineage(lineage(col(EMAIL), col()), 2)).toEqual([[EMAIL], []])
    expect(alignLineage(lineage(col(EMAIL), col()), 3)).toBeNull()
    expect(alignLineage(lineage(col(EMAIL), col()), 1)).toBeNull()
  })

  it('lets one spread take up the remainder, down to nothing', () => {
    expect(alignLineage(lineage(col(EMAIL), SPREAD, col(CARD)), 5)).toEqual([
      [EMAIL],
      [],
      [],
      [],
      [CARD],
    ])
    expect(alignLineage(lineage(col(EMAIL), SPREAD, col(CARD)), 2)).toEqual([[EMAIL], [CARD]])
    expect(alignLineage(lineage(col(EMAIL), SPREAD, col(CARD)), 1)).toBeNull()
  })

  it('places several spreads when everything sensitive is outside them', () => {
    expect(alignLineage(lineage(col(EMAIL), SPREAD, col(), SPREAD, col(PHONE)), 6)).toEqual([
      [EMAIL],
      [],
      [],
      [],
      [],
      [PHONE],
    ])
    expect(alignLineage(lineage(col(EMAIL), SPREAD, col(), SPREAD, col(PHONE)), 3)).toEqual([
      [EMAIL],
      [],
      [PHONE],
    ])
    expect(alignLineage(lineage(SPREAD, SPREAD), 0)).toEqual([])
  })

  it('refuses several spreads around a sensitive column', () => {
    expect(alignLineage(lineage(SPREAD, col(EMAIL), SPREAD), 3)).toBeNull()
  })

  it('returns arrays the caller may change without changing the lineage', () => {
    const items = lineage(col(EMAIL))
    alignLineage(items, 1)?.[0]?.push('other')
    expect(items).toEqual(columns(col(EMAIL)))
  })
})

describe('sensitiveViews', () => {
  it('marks view columns derived from sensitive columns, through views over views', async () => {
    const views = sensitiveViews(BASE, [
      {
        schema: 'reports',
        name: 'contact_list',
        columns: ['who', 'mail'],
        definition: await parseOne('SELECT id, upper(email) FROM customer_emails'),
      },
      {
        schema: 'public',
        name: 'customer_emails',
        columns: ['id', 'email'],
        definition: await parseOne('SELECT id, email FROM customers'),
      },
      {
        schema: 'public',
        name: 'names',
        columns: ['id', 'name'],
        definition: await parseOne('SELECT id, name FROM customers'),
      },
    ])
    expect(views).toEqual([
      {
        schema: 'reports',
        name: 'contact_list',
        columns: ['who', 'mail'],
        sensitive: new Map([['mail', [EMAIL]]]),
      },
      {
        schema: 'public',
        name: 'customer_emails',
        columns: ['id', 'email'],
        sensitive: new Map([['email', [EMAIL]]]),
      },
      { schema: 'public', name: 'names', columns: ['id', 'name'], sensitive: new Map() },
    ])
  })

  it('marks every column of a view it cannot trace with what its relations hold', async () => {
    const [view] = sensitiveViews(BASE, [
      {
        schema: 'public',
        name: 'joined',
        columns: ['a', 'b'],
        definition: await parseOne('SELECT * FROM customers NATURAL JOIN orders'),
      },
    ])
    expect(view?.sensitive).toEqual(
      new Map([
        ['a', [CARD, EMAIL, PHONE]],
        ['b', [CARD, EMAIL, PHONE]],
      ])
    )
  })
})
