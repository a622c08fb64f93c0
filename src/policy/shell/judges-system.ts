/**
 * Programs that read the system's state with some arguments and change it with others:
 * service managers, packages, containers, the network stack, signals. A verb the rules do
 * not know as a read is administration.
 */

import {
  hasOption,
  type Invocation,
  operandsSkipping,
  optionValues,
  type Verdict,
} from './invocation.ts'
import type { Judge } from './judges-files.ts'

const words = (list: string) => new Set(list.trim().split(/\s+/))

const SYSTEMCTL_READ = words(`
  status show cat list-units list-unit-files list-sockets list-timers list-jobs list-dependencies
  list-machines list-automounts list-paths is-active is-enabled is-failed is-system-running
  get-default show-environment help
`)

function systemctl(invocation: Invocation): Verdict {
  if (hasOption(invocation, 'H', 'host', 'M', 'machine'))
    return { class: 'network', risks: ['systemctl on another host'] }
  const [verb] = operandsSkipping(invocation, 'tpsno', [
    'type',
    'property',
    'signal',
    'state',
    'lines',
    'output',
    'root',
    'job-mode',
    'kill-whom',
    'what',
    'message',
    'when',
  ])
  return { class: verb === undefined || SYSTEMCTL_READ.has(verb) ? 'read' : 'admin' }
}

/** `service nginx status` reads; `service nginx restart` does not. */
function service(invocation: Invocation): Verdict {
  if (hasOption(invocation, 'status-all')) return { class: 'read' }
  const action = invocation.operands[1]
  return { class: action === 'status' ? 'read' : 'admin' }
}

function journalctl(invocation: Invocation): Verdict {
  const changes = [
    'vacuum-size',
    'vacuum-time',
    'vacuum-files',
    'rotate',
    'flush',
    'relinquish-var',
    'smart-relinquish-var',
    'sync',
    'setup-keys',
    'update-catalog',
  ]
  return { class: hasOption(invocation, ...changes) ? 'admin' : 'read' }
}

/** `mount` alone lists mounts. */
function mount(invocation: Invocation): Verdict {
  const lists = invocation.operands.length === 0 && !hasOption(invocation, 'a', 'all')
  return { class: lists ? 'read' : 'admin' }
}

function sysctl(invocation: Invocation): Verdict {
  const sets =
    hasOption(invocation, 'w', 'write', 'p', 'load', 'system') ||
    invocation.operands.some((operand) => operand.includes('='))
  return { class: sets ? 'admin' : 'read' }
}

function crontab(invocation: Invocation): Verdict {
  return {
    class: hasOption(invocation, 'l') && !hasOption(invocation, 'r', 'e') ? 'read' : 'admin',
  }
}

/** hostname, date and hwclock print unless told to set. */
function hostname(invocation: Invocation): Verdict {
  return {
    class: invocation.operands.length || hasOption(invocation, 'F', 'file') ? 'admin' : 'read',
  }
}

function date(invocation: Invocation): Verdict {
  const sets =
    hasOption(invocation, 's', 'set') ||
    operandsSkipping(invocation, 'dfr', ['date', 'file', 'reference']).some(
      (operand) => !operand.startsWith('+')
    )
  return { class: sets ? 'admin' : 'read' }
}

function hwclock(invocation: Invocation): Verdict {
  const sets = hasOption(invocation, 'w', 'systohc', 's', 'hctosys', 'set', 'adjust', 'systz')
  return { class: sets ? 'admin' : 'read' }
}

function dmesg(invocation: Invocation): Verdict {
  const clears = ['C', 'c', 'clear', 'read-clear', 'D', 'E', 'console-off', 'console-on', 'n']
  return { class: hasOption(invocation, ...clears, 'console-level') ? 'admin' : 'read' }
}

/** `ifconfig` and `ifconfig eth0` show; anything more configures. */
function ifconfig(invocation: Invocation): Verdict {
  return { class: invocation.operands.length > 1 ? 'admin' : 'read' }
}

function route(invocation: Invocation): Verdict {
  const changes = invocation.operands.some((operand) => /^(add|del|delete|flush)$/.test(operand))
  return { class: changes ? 'admin' : 'read' }
}

const IP_CHANGES = words(`
  add del delete change chg replace set flush append prepend restore attach detach update up down
`)

/** `ip addr`, `ip route get`: reads. `ip link set`, `ip route add`: admin. */
function ip(invocation: Invocation): Verdict {
  const { operands } = invocation
  if (operands.includes('exec')) return { class: 'code', risks: ['ip netns exec'] }
  return { class: operands.some((operand) => IP_CHANGES.has(operand)) ? 'admin' : 'read' }
}

/** iptables and kin: listing reads; any chain or rule change is admin. */
function iptables(invocation: Invocation): Verdict {
  const lists = hasOption(invocation, 'L', 'S', 'list', 'list-rules')
  const changes = hasOption(
    invocation,
    ...['A', 'D', 'I', 'R', 'F', 'X', 'P', 'N', 'E', 'Z', 'C'],
    ...['append', 'delete', 'insert', 'replace', 'flush', 'delete-chain', 'policy'],
    ...['new-chain', 'rename-chain', 'zero', 'check']
  )
  return { class: lists && !changes ? 'read' : 'admin' }
}

function nft(invocation: Invocation): Verdict {
  const [verb] = operandsSkipping(invocation, 'fIo', ['file', 'includepath', 'optimize'])
  return { class: verb === 'list' && !hasOption(invocation, 'f', 'file') ? 'read' : 'admin' }
}

function ufw(invocation: Invocation): Verdict {
  const [verb] = invocation.operands
  return { class: verb === 'status' || verb === 'show' || verb === 'version' ? 'read' : 'admin' }
}

function firewallCmd(invocation: Invocation): Verdict {
  const reads = invocation.options.every((option) =>
    /^(list-|get-|query-|info-|state$|zone$|permanent$|version$|help$)/.test(option)
  )
  return { class: reads && !invocation.operands.length ? 'read' : 'admin' }
}

/** Read-only verbs shared by package managers (apt, dnf, pip, gem, snap, …). */
const PACKAGE_READ = words(`
  list search show info policy depends rdepends madison showpkg changelog check-update repolist
  provides whatprovides deplist freeze check help version inspect outdated why explain
`)

function packages(invocation: Invocation): Verdict {
  const [verb] = invocation.operands
  if (verb === undefined)
    return {
      class:
        hasOption(invocation, 'version', 'V', 'h', 'help') || !invocation.options.length
          ? 'read'
          : 'admin',
    }
  return { class: PACKAGE_READ.has(verb) ? 'read' : 'admin' }
}

function dpkg(invocation: Invocation): Verdict {
  const reads = [
    ...['l', 'L', 's', 'S', 'p', 'c', 'I', 'list', 'listfiles', 'status', 'search'],
    ...['print-avail', 'contents', 'info', 'get-selections', 'audit', 'print-architecture'],
  ]
  return { class: hasOption(invocation, ...reads) ? 'read' : 'admin' }
}

function rpm(invocation: Invocation): Verdict {
  return { class: hasOption(invocation, 'q', 'query', 'V', 'verify') ? 'read' : 'admin' }
}

function pacman(invocation: Invocation): Verdict {
  const query = hasOption(invocation, 'Q', 'query')
  const search =
    hasOption(invocation, 'S', 'sync') && hasOption(invocation, 's', 'i', 'search', 'info')
  const upgrades = hasOption(invocation, 'y', 'u', 'refresh', 'sysupgrade')
  return { class: (query || search) && !upgrades ? 'read' : 'admin' }
}

const NPM_READ = words(`
  ls list ll la view info show v outdated search help whoami ping doctor audit prefix root bin
  explain why fund config get
`)
const NPM_CODE = words(
  `run run-script exec x test t tst start stop restart dlx rebuild rb create init`
)

/** npm and kin: scripts run code; installs are administration. */
function npm(invocation: Invocation): Verdict {
  const [verb] = invocation.operands
  if (verb === undefined) return { class: 'read' }
  if (NPM_READ.has(verb)) return { class: 'read' }
  if (NPM_CODE.has(verb)) return { class: 'code', risks: [`${invocation.program} ${verb}`] }
  return { class: 'admin' }
}

/** `yarn build` runs the package's `build` script. */
function yarn(invocation: Invocation): Verdict {
  const [verb] = invocation.operands
  if (verb === undefined || /^(install|add|remove|upgrade|up|dedupe)$/.test(verb))
    return { class: 'admin' }
  return NPM_READ.has(verb) ? { class: 'read' } : { class: 'code', risks: [`yarn ${verb}`] }
}

const CONTAINER_READ = words(`
  ps images inspect logs version info stats top events history diff port search ls list df show
  config
`)
const CONTAINER_GROUPS = words(`
  container image volume network system context compose node service stack secret plugin
  builder buildx manifest trust
`)

/** docker and podman: listing and inspecting read; running, changing and exec are admin. */
function docker(invocation: Invocation): Verdict {
  const operands = operandsSkipping(invocation, 'Hcl', ['host', 'context', 'config', 'log-level'])
  const [group, verb] = operands
  const sub = group !== undefined && CONTAINER_GROUPS.has(group) ? verb : group
  if (sub === undefined) return { class: 'read' }
  if (CONTAINER_READ.has(sub)) return { class: 'read' }
  if (hasOption(invocation, 'privileged') || invocation.words.some((word) => /^\/:/.test(word)))
    return { class: 'privilege', risks: ['privileged container or host root mounted'] }
  return { class: 'admin' }
}

const KUBECTL_READ = words(`
  get describe logs top explain api-resources api-versions version cluster-info diff events wait
`)
const KUBECTL_VALUES = [
  ...['namespace', 'context', 'cluster', 'user', 'kubeconfig', 'server', 'token', 'selector'],
  ...['output', 'filename', 'container', 'since', 'tail', 'field-selector', 'sort-by', 'as'],
  ...['as-group', 'request-timeout', 'template', 'label-columns'],
]

function kubectl(invocation: Invocation): Verdict {
  const [verb, object] = operandsSkipping(invocation, 'nslofcL', KUBECTL_VALUES)
  if (verb === undefined || KUBECTL_READ.has(verb)) return { class: 'read' }
  if (verb === 'config' && /^(view|get-.*|current-context)$/.test(object ?? ''))
    return { class: 'read' }
  if (verb === 'auth' && (object === 'can-i' || object === 'whoami')) return { class: 'read' }
  if (verb === 'rollout' && (object === 'status' || object === 'history')) return { class: 'read' }
  return { class: 'admin' }
}

function helm(invocation: Invocation): Verdict {
  const [verb, object] = operandsSkipping(invocation, 'n', ['namespace', 'kube-context'])
  if (verb === undefined) return { class: 'read' }
  const reads = words('list ls status history get show search template version env lint')
  if (reads.has(verb) || ((verb === 'repo' || verb === 'plugin') && object === 'list'))
    return { class: 'read' }
  return { class: 'admin' }
}

/** `kill -l` lists signal names. */
function kill(invocation: Invocation): Verdict {
  const lists = hasOption(invocation, 'l', 'L', 'list', 'table') && !invocation.operands.length
  return { class: lists ? 'read' : 'process' }
}

function fuser(invocation: Invocation): Verdict {
  return { class: hasOption(invocation, 'k', 'kill') ? 'process' : 'read' }
}

/** ssh options that run a local program: ProxyCommand and friends. */
const SSH_LOCAL_COMMAND = /^(proxycommand|localcommand|permitlocalcommand|knownhostscommand)\b/i

function ssh(invocation: Invocation): Verdict {
  const risky = optionValues(invocation.args, 'o', undefined, 'bcDEeFIiJLlmOpQRSWw').some(
    (value) => value === null || SSH_LOCAL_COMMAND.test(value)
  )
  const runsProgram = invocation.program === 'scp' && hasOption(invocation, 'S')
  if (risky || runsProgram || hasOption(invocation, 'F'))
    return { class: 'code', risks: [`${invocation.program} runs a local program`] }
  return {
    class: 'network',
    risks: invocation.program === 'ssh' ? ['runs commands on another host'] : [],
  }
}

function netcat(invocation: Invocation): Verdict {
  if (hasOption(invocation, 'e', 'c', 'exec', 'sh-exec', 'lua-exec'))
    return { class: 'code', risks: [`${invocation.program} runs a program for the connection`] }
  return { class: 'network' }
}

function socat(invocation: Invocation): Verdict {
  if (invocation.operands.some((operand) => /^(exec|system):/i.test(operand)))
    return { class: 'code', risks: ['socat runs a program'] }
  return { class: 'network' }
}

function timedatectl(invocation: Invocation): Verdict {
  const [verb] = invocation.operands
  return {
    class:
      verb === undefined || /^(status|show|list-.*|timesync-status|show-timesync)$/.test(verb)
        ? 'read'
        : 'admin',
  }
}

/** hostnamectl, localectl, loginctl, resolvectl, networkctl, nmcli: verbs that show read. */
function showVerbs(invocation: Invocation): Verdict {
  const [verb, object] = invocation.operands
  const shows = (word: string | undefined) =>
    word === undefined ||
    /^(status|show|list.*|hostname|query|statistics|monitor|lldp|general|device|connection)$/.test(
      word
    )
  const nmcliChange =
    invocation.program === 'nmcli' && object !== undefined && !/^(show|status|list)$/.test(object)
  return { class: shows(verb) && !nmcliChange ? 'read' : 'admin' }
}

export const SYSTEM_JUDGES: Readonly<Record<string, Judge>> = {
  systemctl,
  service,
  journalctl,
  mount,
  sysctl,
  crontab,
  hostname,
  date,
  hwclock,
  dmesg,
  ifconfig,
  route,
  ip,
  iptables,
  ip6tables: iptables,
  ebtables: iptables,
  arptables: iptables,
  nft,
  ufw,
  'firewall-cmd': firewallCmd,
  apt: packages,
  'apt-get': packages,
  aptitude: packages,
  yum: packages,
  dnf: packages,
  zypper: packages,
  apk: packages,
  snap: packages,
  flatpak: packages,
  brew: packages,
  gem: packages,
  pip: packages,
  pip3: packages,
  pipx: packages,
  dpkg,
  rpm,
  pacman,
  npm,
  pnpm: npm,
  yarn,
  docker,
  podman: docker,
  nerdctl: docker,
  kubectl,
  oc: kubectl,
  helm,
  kill,
  fuser,
  ssh,
  scp: ssh,
  sftp: ssh,
  nc: netcat,
  ncat: netcat,
  netcat,
  socat,
  timedatectl,
  hostnamectl: showVerbs,
  localectl: showVerbs,
  loginctl: showVerbs,
  resolvectl: showVerbs,
  networkctl: showVerbs,
  nmcli: showVerbs,
}
