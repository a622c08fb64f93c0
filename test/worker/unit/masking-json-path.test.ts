import { describe, expect, it } from 'vitest'
import {
  compileJsonPaths,
  type JsonPathKey,
  JsonPathSyntaxError,
  parseJsonPath,
  selectingPath,
} from '../../../src/masking/json/json-path.ts'

function selects(path: string, keys: JsonPathKey[]): boolean {
  return selectingPath(compileJsonPaths([parseJsonPath(path)]), keys) === 0
}

describe('parseJsonPath', () => {
  it('reads every form of the grammar', () => {
    expect(parseJsonPath(`$.users[*].email['a b']["q\\"x"][3]..card..*.*`).segments).toEqual([
      { axis: 'child', selector: { kind: 'name', name: 'users' } },
      { axis: 'child', selector: { kind: 'wildcard' } },
      { axis: 'child', selector: { kind: 'name', name: 'email' } },
      { axis: 'child', selector: { kind: 'name', name: 'a b' } },
      { axis: 'child', selector: { kind: 'name', name: 'q"x' } },
      { axis: 'child', selector: { kind: 'index', index: 3 } },
      { axis: 'descendant', selector: { kind: 'name', name: 'card' } },
      { axis: 'descendant', selector: { kind: 'wildcard' } },
      { axis: 'child', selector: { kind: 'wildcard' } },
    ])
  })

  it('reads the root alone, dashed names and recursive brackets', () => {
    expect(parseJsonPath('$').segments).toEqual([])
    expect(parseJsonPath('$.x-request-id..[0]').segments).toEqual([
      { axis: 'child', selector: { kind: 'name', name: 'x-request-id' } },
      { axis: 'descendant', selector: { kind: 'index', index: 0 } },
    ])
  })

  it.each([
    ['users', 0, 'expected "$" at offset 0'],
    ['$.', 2, 'expected a member name or "*" at offset 2'],
    ['$..', 3, 'expected a member name or "*" at offset 3'],
    ['$users', 1, 'expected ".", ".." or "[" at offset 1'],
    ['$[', 2, 'expected an index, "*" or a quoted name at offset 2'],
    ['$[01]', 3, 'expected "]" at offset 3'],
    ['$[-1]', 2, 'negative indexes cannot be streamed'],
    ["$['open", 7, "expected closing ' at offset 7"],
    ['$[*', 3, 'expected "]" at offset 3'],
    ['$.a b', 3, 'expected ".", ".." or "[" at offset 3'],
    ["$['a\\n']", 5, "expected ' or \\ after \\ at offset 5"],
  ])('refuses %j at offset %i', (text, offset, message) => {
    let thrown: unknown
    try {
      parseJsonPath(text)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(JsonPathSyntaxError)
    expect((thrown as JsonPathSyntaxError).offset).toBe(offset)
    expect((thrown as JsonPathSyntaxError).message).toContain(message)
    expect((thrown as JsonPathSyntaxError).message).toContain(JSON.stringify(text))
  })
})

describe('matching', () => {
  it('selects by name, index and wildcard one level at a time', () => {
    expect(selects('$.users[*].email', ['users', 0, 'email'])).toBe(true)
    expect(selects('$.users[*].email', ['users', 7, 'email'])).toBe(true)
    expect(selects('$.users[*].email', ['users', 'x', 'email'])).toBe(true)
    expect(selects('$.users[*].email', ['users', 0])).toBe(false)
    expect(selects('$.users[*].email', ['users', 0, 'email', 'x'])).toBe(false)
    expect(selects('$.users[*].email', ['people', 0, 'email'])).toBe(false)
    expect(selects('$.users[1]', ['users', 1])).toBe(true)
    expect(selects('$.users[1]', ['users', 2])).toBe(false)
    expect(selects('$.data.*.token', ['data', 'a', 'token'])).toBe(true)
  })

  it('does not confuse a numeric name with an array index', () => {
    expect(selects("$['0']", ['0'])).toBe(true)
    expect(selects("$['0']", [0])).toBe(false)
    expect(selects('$[0]', ['0'])).toBe(false)
  })

  it('selects descendants at any depth below, but not the value itself', () => {
    expect(selects('$..card', ['card'])).toBe(true)
    expect(selects('$..card', ['a', 3, 'b', 'card'])).toBe(true)
    expect(selects('$..card', ['a', 'card', 'number'])).toBe(false)
    expect(selects('$..card.number', ['x', 'card', 'number'])).toBe(true)
    expect(selects('$..card.number', ['card', 'card', 'number'])).toBe(true)
    expect(selects('$.a..b', ['b'])).toBe(false)
    expect(selects('$..*', [])).toBe(false)
    expect(selects('$..*', ['anything', 4])).toBe(true)
    expect(selects('$..[2]', ['rows', 2])).toBe(true)
  })

  it('selects the whole document with $', () => {
    expect(selects('$', [])).toBe(true)
    expect(selects('$', ['a'])).toBe(false)
  })

  it('reports the first listed path when several select a value', () => {
    const matcher = compileJsonPaths([
      parseJsonPath('$.a.b'),
      parseJsonPath('$..b'),
      parseJsonPath('$.*.c'),
    ])
    expect(selectingPath(matcher, ['a', 'b'])).toBe(0)
    expect(selectingPath(matcher, ['x', 'b'])).toBe(1)
    expect(selectingPath(matcher, ['x', 'c'])).toBe(2)
    expect(selectingPath(matcher, ['x', 'd'])).toBe(-1)
  })

  it('marks positions below which nothing can be selected as dead', () => {
    const matcher = compileJsonPaths([parseJsonPath('$.users[*].email')])
    const users = matcher.step(matcher.root, 'users')
    expect(users.dead).toBe(false)
    expect(matcher.step(matcher.root, 'other').dead).toBe(true)
    const email = matcher.step(matcher.step(users, 5), 'email')
    expect(email).toMatchObject({ selected: 0, dead: true })
    const anywhere = compileJsonPaths([parseJsonPath('$..x')])
    expect(anywhere.step(anywhere.root, 'y').dead).toBe(false)
  })

  it('reuses states, so stepping through many distinct keys stays bounded', () => {
    const matcher = compileJsonPaths([parseJsonPath('$..email')])
    const first = matcher.step(matcher.root, 'k0')
    for (let i = 1; i < 10_000; i++) expect(matcher.step(matcher.root, `k${i}`)).toBe(first)
    expect(matcher.step(first, 123_456)).toBe(matcher.step(first, 7))
  })
})
