import { describe, expect, it } from 'vitest'
import { compilePathGlob, matchesPath } from '../../../src/policy/glob.ts'

function matches(glob: string, path: string): boolean {
  return matchesPath(compilePathGlob(glob), path)
}

describe('path globs', () => {
  it.each([
    ['/orders', '/orders', true],
    ['/orders', '/orders/', true],
    ['/orders', '/orders/1', false],
    ['/orders/*', '/orders/1', true],
    ['/orders/*', '/orders/1/items', false],
    ['/orders/*', '/orders', false],
    ['/orders/*/items', '/orders/42/items', true],
    ['/admin/**', '/admin', true],
    ['/admin/**', '/admin/', true],
    ['/admin/**', '/admin/users/7/keys', true],
    ['/admin/**', '/administrator', false],
    ['/**', '/', true],
    ['/**', '/anything/at/all', true],
    ['/', '/', true],
    ['/', '/x', false],
    ['/v?/users', '/v1/users', true],
    ['/v?/users', '/v10/users', false],
    ['/files/*.csv', '/files/report.csv', true],
    ['/files/*.csv', '/files/reportXcsv', false],
    ['/a+b/(c)', '/a+b/(c)', true],
    ['/a+b/(c)', '/aab/c', false],
    ['/**/secrets', '/secrets', true],
    ['/**/secrets', '/a/b/secrets', true],
    ['/**/secrets', '/a/b/secrets/x', false],
  ])('%s against %s → %s', (glob, path, expected) => {
    expect(matches(glob, path)).toBe(expected)
  })

  it('ignores letter case unless asked not to', () => {
    expect(matches('/admin/**', '/ADMIN/Users')).toBe(true)
    expect(matchesPath(compilePathGlob('/admin/**', { caseSensitive: true }), '/ADMIN/Users')).toBe(
      false
    )
  })

  it('treats regex metacharacters in globs literally', () => {
    expect(matches('/price/$9.99', '/price/$9.99')).toBe(true)
    expect(matches('/price/$9.99', '/price/$9x99')).toBe(false)
  })
})
