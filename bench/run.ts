/**
 * `npm run bench`: every figure measured in one run on this machine, written to
 * bench/results.json with the budgets from DESIGN.md beside them.
 */

import { writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { type ApprovalLatency, benchApprovalLatency } from './approval-latency.ts'
import { startBenchGateway } from './bench-gateway.ts'
import { benchBundleSize } from './bundle-size.ts'
import { benchConsoleList } from './console-list.ts'
import { benchDetectorThroughput } from './detector-throughput.ts'
import { benchHttpLatency } from './http-latency.ts'
import { benchPgbench } from './pgbench.ts'
import { benchMaskedRead, type MaskedReadResult } from './pgbench-masked.ts'
import { benchPolicyDecision } from './policy-decision.ts'
import { benchShellClassification } from './shell-classification.ts'
import { benchSqlClassification } from './sql-classification.ts'
import { benchSsh, type SshBenchResult } from './ssh.ts'
import { benchVerifySession } from './verify-session.ts'

const RESULTS = new URL('./results.json', import.meta.url)
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

log('policy decision (100 rules)')
const policyDecision = benchPolicyDecision()
log(`  p50 ${policyDecision.p50Micros} µs, p99 ${policyDecision.p99Micros} µs`)

log('SQL classification (typical OLTP statements, real Postgres grammar)')
const sqlClassification = await benchSqlClassification()
log(`  p50 ${sqlClassification.p50Micros} µs, p99 ${sqlClassification.p99Micros} µs`)

log('shell classification (typical agent command lines)')
const shellClassification = benchShellClassification()
log(`  p50 ${shellClassification.p50Micros} µs, p99 ${shellClassification.p99Micros} µs`)

log('masking detectors (all 13, cell by cell over representative row text)')
const detectorThroughput = benchDetectorThroughput()
log(
  `  ${detectorThroughput.mbPerSecond} MB/s over ${(detectorThroughput.bytes / 1e6).toFixed(0)} MB, ${detectorThroughput.matches} matches`
)

log('verifying a signed 10 000-event session')
const verifySession = await benchVerifySession()
log(`  ${verifySession.events} events in ${verifySession.millis} ms`)

log('bundle size (wrangler deploy --dry-run)')
const bundle = await benchBundleSize()
log(`  ${bundle.gzipMiB} MiB gzipped`)

log('starting the gateway (wrangler dev, local D1/R2)')
const gateway = await startBenchGateway()
let http: Awaited<ReturnType<typeof benchHttpLatency>>
let pgbench: Awaited<ReturnType<typeof benchPgbench>>
let approvals: ApprovalLatency
let maskedRead: MaskedReadResult
let ssh: SshBenchResult
try {
  log('HTTP proxy latency (direct, pass-through Worker, gateway)')
  http = await benchHttpLatency(gateway, log)
  for (const run of http.runs) {
    log(
      `  ${run.mode}: p50 direct ${run.millis.direct.p50} ms, pass-through ${run.millis.passthrough.p50} ms, storage floor ${run.millis.floor.p50} ms (x${run.floorOverPassthroughP50}), gateway ${run.millis.gateway.p50} ms (x${run.gatewayOverPassthroughP50})`
    )
  }
  for (const rate of http.storageFloor.r2Put) {
    log(`  local R2 put, ${rate.writers} writer(s): ${rate.opsPerSecond}/s`)
  }
  log('pgbench select-only, direct and through the tunnel')
  pgbench = await benchPgbench(gateway, log)
  log('approval hand-off (decision → held command at the origin)')
  approvals = await benchApprovalLatency(gateway, log)
  log('masked read: the same pgbench-style SELECT with and without masking')
  maskedRead = await benchMaskedRead(gateway, log)
  log('SSH: exec round trip and 100 MB of output, direct and through the gateway')
  ssh = await benchSsh(gateway, log)
} finally {
  await gateway.stop()
}

log('console session list over 100 000 indexed sessions (its own wrangler dev)')
const consoleList = await benchConsoleList(log)
log(`  p50 ${consoleList.p50Millis} ms, p99 ${consoleList.p99Millis} ms`)

const primary = http.runs[0]
// Every statement is one write-ahead put, so the simulator's put rate caps the tunnel's TPS.
const r2PutsPerSecond = Math.max(...http.storageFloor.r2Put.map((rate) => rate.opsPerSecond))
const results = {
  generatedAt: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  httpProxy: http.runs,
  localStorageFloor: http.storageFloor,
  pgbench,
  approvals,
  policyDecision,
  sqlClassification,
  shellClassification,
  detectorThroughput,
  maskedRead,
  ssh,
  verifySession,
  consoleList,
  bundle,
  budgets: {
    httpAddedP50VsPassthrough: {
      target: 'gateway p50 ≤ 1.3 × bare pass-through Worker p50',
      measured: primary?.gatewayOverPassthroughP50 ?? null,
      met: primary !== undefined && primary.gatewayOverPassthroughP50 <= 1.3,
      storageFloor: {
        what: 'pass-through Worker + one D1 read + one R2 put, p50 over pass-through p50',
        measured: primary?.floorOverPassthroughP50 ?? null,
      },
    },
    policyDecisionP99Micros: {
      target: 200,
      measured: policyDecision.p99Micros,
      met: policyDecision.p99Micros <= 200,
    },
    sqlClassificationP99Micros: {
      target: 200,
      measured: sqlClassification.p99Micros,
      met: sqlClassification.p99Micros <= 200,
    },
    shellClassificationP99Micros: {
      target: 200,
      measured: shellClassification.p99Micros,
      met: shellClassification.p99Micros <= 200,
    },
    pgbenchSelectOnlyVsDirect: {
      target: 'tunnel TPS >= 0.5 x direct (pgbench -S -c 4, recording on)',
      measured: pgbench.simple.ratio,
      met: pgbench.simple.ratio >= 0.5,
      storageFloor: {
        what: 'local R2 puts/s (one write-ahead put per statement) over direct TPS',
        measured: Math.round((r2PutsPerSecond / pgbench.simple.directTps) * 1000) / 1000,
      },
    },
    detectorThroughputMBps: {
      target: detectorThroughput.target,
      measured: detectorThroughput.mbPerSecond,
      met: detectorThroughput.mbPerSecond >= detectorThroughput.target,
    },
    bundleGzipMiB: { target: 3, measured: bundle.gzipMiB, met: bundle.gzipMiB <= 3 },
    consoleListP50Millis: {
      target: 50,
      measured: consoleList.p50Millis,
      met: consoleList.p50Millis <= 50,
    },
  },
}
await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`)
log(`wrote ${RESULTS.pathname}`)
