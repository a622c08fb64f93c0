/**
 * A private OpenSSH server for the tests and the benchmark: `sshd -D` on a free loopback
 * port with its own config, temporary ed25519 and RSA host keys and its own PidFile, so it
 * never touches the machine's sshd. It admits one unix user, `gatehouse-ssh` (created when
 * missing), by a fresh ed25519 client key or by password. sshd needs root for another user's
 * login, so this needs root too (as CI runs); elsewhere it stops with a clear error.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.ts'

const SSHD = '/usr/sbin/sshd'
/** The unix user the tests log in as; sshd admits no one else. */
export const SSH_TEST_USER = 'gatehouse-ssh'
/** Shared by concurrent runs (the worker and e2e setups, the bench) so one run's chpasswd cannot lock another out. */
const PASSWORD_FILE = join(tmpdir(), 'gatehouse-ssh-password')
/** sshd's privilege-separation directory on Debian; missing on machines that never ran sshd. */
const PRIVSEP_DIR = '/run/sshd'
const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url))
const READY_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000
const SSH_TIMEOUT_MS = 30_000
const QUIET: ['ignore', 'pipe', 'ignore'] = ['ignore', 'pipe', 'ignore']

export type SshResult = { stdout: string; stderr: string; exitCode: number | null }

export type SshdServer = {
  host: string
  port: number
  user: string
  password: string
  /** Unencrypted OpenSSH ed25519 private key (`-----BEGIN OPENSSH PRIVATE KEY-----`) in authorized_keys. */
  clientPrivateKey: string
  /** Its public line, `ssh-ed25519 AAAA…`. */
  clientPublicKey: string
  /** The server's host keys as OpenSSH public key lines, without comments. */
  hostKeys: { ed25519: string; rsa: string }
  /** An ed25519 public key line that is not the server's (for host-key pinning tests). */
  wrongHostKey: string
  /** An ed25519 private key sshd does not accept (not in authorized_keys). */
  unauthorizedPrivateKey: string
  /** A directory the test user can write: a blocked `touch <markerDir>/x` must leave no file. */
  markerDir: string
  /** sshd's VERBOSE log (test/.artifacts/<logName>.log). */
  logFile: string
  /** The real `ssh` client's argv against this server (key auth, pinned known_hosts), `command` last. */
  sshArgs: (command: string, options?: string[]) => string[]
  /** Runs `command` with the real `ssh` client directly against this server. */
  ssh: (
    command: string,
    options?: { stdin?: string; timeoutMs?: number; options?: string[] }
  ) => Promise<SshResult>
  stop: () => Promise<void>
}

/** Installs Debian's OpenSSH server and client when sshd or ssh-keygen is missing (needs root). */
export function ensureSshdInstalled(): void {
  if (existsSync(SSHD) && existsSync('/usr/bin/ssh') && existsSync('/usr/bin/ssh-keygen')) return
  if (process.getuid?.() !== 0) {
    throw new Error(
      'OpenSSH server is missing and installing it needs root: apt-get install openssh-server openssh-client'
    )
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env })
  execFileSync(
    'apt-get',
    ['install', '-y', '--no-install-recommends', 'openssh-server', 'openssh-client'],
    { stdio: 'inherit', env }
  )
}

/** Starts a private sshd; `logName` names its log under test/.artifacts (one per concurrent server). */
export async function startSshd(
  options: {
    logName?: string
    /** sshd's RekeyLimit (e.g. `4M`): the server then starts key re-exchanges that often. */
    rekeyLimit?: string
  } = {}
): Promise<SshdServer> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'The test sshd needs root: sshd can only log in another user when it runs as root (CI runs as root).'
    )
  }
  ensureSshdInstalled()
  mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 })
  const { uid, gid } = ensureTestUser()
  const password = sharedPassword()
  execFileSync('chpasswd', [], { input: `${SSH_TEST_USER}:${password}\n` })

  // The root is world-readable so sshd, reading authorized_keys as the user, can reach it;
  // private keys live in 0700 subdirectories.
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sshd-'))
  chmodSync(dir, 0o755)
  const hostDir = privateDir(join(dir, 'host'))
  const clientDir = privateDir(join(dir, 'client'))
  const authorizedDir = join(dir, 'authorized_keys')
  mkdirSync(authorizedDir, { mode: 0o755 })
  const markerDir = join(dir, 'markers')
  mkdirSync(markerDir, { mode: 0o755 })
  chownSync(markerDir, uid, gid)

  const ed25519 = generateKey(join(hostDir, 'ssh_host_ed25519_key'), 'ed25519')
  const rsa = generateKey(join(hostDir, 'ssh_host_rsa_key'), 'rsa')
  const client = generateKey(join(clientDir, 'id_ed25519'), 'ed25519')
  const wrongHost = generateKey(join(clientDir, 'wrong_host_key'), 'ed25519')
  const unauthorized = generateKey(join(clientDir, 'unauthorized_key'), 'ed25519')
  writeFileSync(join(authorizedDir, SSH_TEST_USER), `${client.publicKey}\n`, { mode: 0o644 })

  const port = await freePort()
  const host = '127.0.0.1'
  const knownHosts = join(clientDir, 'known_hosts')
  writeFileSync(
    knownHosts,
    `[${host}]:${port} ${ed25519.publicKey}\n[${host}]:${port} ${rsa.publicKey}\n`
  )
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${host}`,
      `HostKey ${ed25519.file}`,
      `HostKey ${rsa.file}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      `AuthorizedKeysFile ${authorizedDir}/%u`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      `AllowUsers ${SSH_TEST_USER}`,
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'X11Forwarding no',
      'PermitTunnel no',
      'PrintMotd no',
      'PrintLastLog no',
      // The bench and concurrency tests open many connections at once; the default drops some.
      'MaxStartups 200',
      'Subsystem sftp internal-sftp',
      'LogLevel VERBOSE',
      ...(options.rekeyLimit ? [`RekeyLimit ${options.rekeyLimit}`] : []),
      '',
    ].join('\n')
  )

  mkdirSync(ARTIFACTS, { recursive: true })
  const logFile = join(ARTIFACTS, `${options.logName ?? 'sshd'}.log`)
  writeFileSync(logFile, '')
  // sshd writes its log itself (-E): through a pipe, a busy test process that stops
  // reading it would stall every login once the pipe filled.
  const server = spawn(SSHD, ['-D', '-E', logFile, '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let early = ''
  server.stderr?.on('data', (chunk: Buffer) => {
    early = (early + chunk.toString('utf8')).slice(-4000)
  })
  const log = () => `${early}${readFileSync(logFile, 'utf8').slice(-8000)}`
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))

  const cleanUp = () => rmSync(dir, { recursive: true, force: true })
  try {
    await waitForBanner(host, port, server, log)
  } catch (error) {
    await stopProcess(server, exited)
    cleanUp()
    throw error
  }

  const sshArgs = (command: string, extra: string[] = []) => [
    '-F',
    '/dev/null',
    '-p',
    `${port}`,
    '-i',
    client.file,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
    '-o',
    'LogLevel=ERROR',
    ...extra,
    `${SSH_TEST_USER}@${host}`,
    '--',
    command,
  ]

  return {
    host,
    port,
    user: SSH_TEST_USER,
    password,
    clientPrivateKey: readFileSync(client.file, 'utf8'),
    clientPublicKey: client.publicKey,
    hostKeys: { ed25519: ed25519.publicKey, rsa: rsa.publicKey },
    wrongHostKey: wrongHost.publicKey,
    unauthorizedPrivateKey: readFileSync(unauthorized.file, 'utf8'),
    markerDir,
    logFile,
    sshArgs,
    ssh: (command, runOptions = {}) => runSsh(sshArgs(command, runOptions.options), runOptions),
    stop: async () => {
      await stopProcess(server, exited)
      cleanUp()
    },
  }
}

function runSsh(args: string[], options: { stdin?: string; timeoutMs?: number }) {
  return new Promise<SshResult>((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? SSH_TIMEOUT_MS)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        exitCode: code,
      })
    })
    child.stdin.end(options.stdin ?? '')
  })
}

/** Creates the test user when missing (a concurrent setup may win the race: that is fine). */
function ensureTestUser(): { uid: number; gid: number } {
  const lookup = () => {
    try {
      return {
        uid: Number(
          execFileSync('id', ['-u', SSH_TEST_USER], { encoding: 'utf8', stdio: QUIET }).trim()
        ),
        gid: Number(
          execFileSync('id', ['-g', SSH_TEST_USER], { encoding: 'utf8', stdio: QUIET }).trim()
        ),
      }
    } catch {
      return undefined
    }
  }
  const existing = lookup()
  if (existing) return existing
  try {
    execFileSync('useradd', ['-m', '-s', '/bin/bash', SSH_TEST_USER], { stdio: 'pipe' })
  } catch (error) {
    if (!lookup()) throw error
  }
  const created = lookup()
  if (!created) throw new Error(`useradd did not create ${SSH_TEST_USER}`)
  return created
}

/**
 * The test user's password: random, made by the first run that finds none and reused by
 * runs that overlap it (setting a new one each time would lock the other runs out).
 */
function sharedPassword(): string {
  const fresh = `gh-${crypto.getRandomValues(new Uint8Array(18)).reduce((text, byte) => text + byte.toString(16).padStart(2, '0'), '')}`
  try {
    writeFileSync(PASSWORD_FILE, fresh, { flag: 'wx', mode: 0o600 })
    return fresh
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const stored = readFileSync(PASSWORD_FILE, 'utf8').trim()
    if (/^gh-[0-9a-f]{36}$/.test(stored)) return stored
    writeFileSync(PASSWORD_FILE, fresh, { mode: 0o600 })
    return fresh
  }
}

function privateDir(path: string): string {
  mkdirSync(path, { mode: 0o700 })
  return path
}

/** ssh-keygen without a passphrase; the public line comes back without its comment. */
function generateKey(file: string, type: 'ed25519' | 'rsa'): { file: string; publicKey: string } {
  execFileSync(
    'ssh-keygen',
    ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '3072'] : []), '-N', '', '-C', '', '-f', file],
    { stdio: 'pipe' }
  )
  const [algorithm = '', blob = ''] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ')
  return { file, publicKey: `${algorithm} ${blob}` }
}

/** Ready once the port answers with an SSH identification string (RFC 4253 §4.2). */
async function waitForBanner(
  host: string,
  port: number,
  server: ChildProcess,
  log: () => string
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (await answersSsh(host, port)) return
    if (server.exitCode !== null || server.signalCode !== null || Date.now() > deadline) {
      throw new Error(`sshd did not start on ${host}:${port}:\n${log()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function answersSsh(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let received = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      if (received.includes('\n')) done(received.startsWith('SSH-2.0-'))
    })
    socket.once('end', () => done(false))
  })
}

async function stopProcess(server: ChildProcess, exited: Promise<void>): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return
  server.kill('SIGTERM')
  const timer = setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}
