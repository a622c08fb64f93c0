/** The deployable bundle, as `wrangler deploy --dry-run` builds it, and its gzipped size. */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { wranglerEntry } from '../cli/dev/wrangler.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export type BundleResult = { bytes: number; gzipBytes: number; gzipMiB: number }

export async function benchBundleSize(): Promise<BundleResult> {
  const outdir = await mkdtemp(join(tmpdir(), 'gatehouse-bundle-'))
  try {
    await promisify(execFile)(
      process.execPath,
      [wranglerEntry(), 'deploy', '--dry-run', '--outdir', outdir],
      {
        cwd: ROOT,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      }
    )
    let bytes = 0
    let gzipBytes = 0
    for (const file of await readdir(outdir)) {
      if (!file.endsWith('.js') && !file.endsWith('.wasm')) continue
      const content = await readFile(join(outdir, file))
      bytes += content.length
      gzipBytes += gzipSync(content, { level: 9 }).length
    }
    return { bytes, gzipBytes, gzipMiB: Math.round((gzipBytes / 1024 / 1024) * 1000) / 1000 }
  } finally {
    await rm(outdir, { recursive: true, force: true })
  }
}
