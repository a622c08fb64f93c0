import { describe, expect, it } from 'vitest'
import { openCredential, sealCredential } from '../../../src/connections/credential-seal.ts'

const key = crypto.getRandomValues(new Uint8Array(32))
const credential = { type: 'bearer', token: 'origin-secret' }

describe('credential sealing', () => {
  it('round-trips a credential for the same connection', async () => {
    const sealed = await sealCredential(key, 'con_a', credential)
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/)
    expect(sealed).not.toContain('origin-secret')
    expect(await openCredential(key, 'con_a', sealed)).toEqual(credential)
  })

  it('uses a fresh IV each time, so equal credentials seal differently', async () => {
    expect(await sealCredential(key, 'con_a', credential)).not.toBe(
      await sealCredential(key, 'con_a', credential)
    )
  })

  it('refuses to open a credential copied onto another connection', async () => {
    const sealed = await sealCredential(key, 'con_a', credential)
    await expect(openCredential(key, 'con_b', sealed)).rejects.toThrow()
  })

  it('refuses to open under another key', async () => {
    const sealed = await sealCredential(key, 'con_a', credential)
    await expect(
      openCredential(crypto.getRandomValues(new Uint8Array(32)), 'con_a', sealed)
    ).rejects.toThrow()
  })

  it('refuses a tampered ciphertext', async () => {
    const sealed = await sealCredential(key, 'con_a', credential)
    const [version, iv, ciphertext = ''] = sealed.split('.')
    const bytes = Uint8Array.from(atob(ciphertext), (char) => char.charCodeAt(0))
    bytes[0] = (bytes[0] ?? 0) ^ 1
    const tampered = `${version}.${iv}.${btoa(String.fromCharCode(...bytes))}`
    await expect(openCredential(key, 'con_a', tampered)).rejects.toThrow()
  })

  it('refuses an unknown envelope format', async () => {
    await expect(openCredential(key, 'con_a', 'v9.abc.def')).rejects.toThrow('unknown format')
  })
})
