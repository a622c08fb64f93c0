/**
 * Shell command classification time: the hand-written parser, unwrapping and the program
 * table, for the command lines agents typically send (inspection, pipelines, a sudo
 * restart, an `sh -c` wrapper). Each classification is timed on its own, in Node on the
 * same V8 engine as workerd.
 */
import { classifyShell } from '../src/policy/shell/index.ts'
import { timeEach } from './stats.ts'

const WARMUP = 20_000
const SAMPLES = 100_000

export const TYPICAL_COMMAND_LINES = [
  'ls -la /var/log',
  'df -h / && uptime',
  "journalctl -u nginx --since '10 min ago' | grep -i error | tail -n 50",
  'sudo systemctl restart nginx',
  'ps aux --sort=-%mem | head -n 15',
  "bash -c 'cd /srv/app && git status --short && git log -1 --oneline'",
  'find /tmp -name "*.log" -mtime +7 -print',
  'cat /etc/os-release; free -m > /tmp/mem.txt',
]

export type ShellClassificationResult = {
  samples: number
  p50Micros: number
  p99Micros: number
  maxMicros: number
}

export function benchShellClassification(): ShellClassificationResult {
  let sink = 0
  const once = (index: number) => {
    const line = TYPICAL_COMMAND_LINES[index % TYPICAL_COMMAND_LINES.length] as string
    const command = classifyShell(line, 'api')
    if (command.commands.some((simple) => simple.class === 'unknown')) {
      throw new Error(`bench command line did not parse: ${line}`)
    }
    sink += command.commands.length
  }
  const timing = timeEach(once, SAMPLES, WARMUP)
  // Read the sink, so the work being timed cannot be optimised away.
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink)
  return { samples: SAMPLES, ...timing }
}
