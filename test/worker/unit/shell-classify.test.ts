import { describe, expect, it } from 'vitest'
import type { ShellClass, ShellSimpleCommand } from '../../../src/pipeline/types.ts'
import { classifyShell, interactiveShell } from '../../../src/policy/shell/index.ts'

/** Each simple command as `[program, class, via]`. */
function runs(line: string): [string, ShellClass, string[]][] {
  return classifyShell(line, 'api').commands.map((command) => [
    command.program,
    command.class,
    command.via,
  ])
}

function only(line: string): ShellSimpleCommand {
  const { commands } = classifyShell(line, 'api')
  expect(commands).toHaveLength(1)
  return commands[0] as ShellSimpleCommand
}

const classOf = (line: string) => only(line).class

describe('classifyShell: wrappers are peeled', () => {
  it('classifies sudo rm as rm run as root: privilege, via sudo', () => {
    expect(only('sudo rm -rf /')).toEqual({
      text: 'sudo rm -rf /',
      program: 'rm',
      args: ['-rf', '/'],
      options: ['r', 'f'],
      operands: ['/'],
      class: 'privilege',
      writes: true,
      via: ['sudo'],
      risks: ['runs as root (sudo)'],
    })
  })

  it('skips sudo options and their values, and env assignments', () => {
    expect(only('sudo -u postgres -E --chdir=/tmp FOO=1 psql -c "select 1"')).toMatchObject({
      program: 'psql',
      class: 'privilege',
      via: ['sudo'],
    })
    expect(only('sudo -- ls')).toMatchObject({ program: 'ls', class: 'privilege' })
  })

  it('lists sudo alone, sudo -i and sudo -e as privilege on their own', () => {
    expect(only('sudo -i')).toMatchObject({
      program: 'sudo',
      class: 'privilege',
      risks: ['runs as root (sudo)', 'opens a root shell'],
    })
    expect(only('sudo -e /etc/hosts')).toMatchObject({ program: 'sudo', class: 'privilege' })
    expect(only('sudoedit /etc/hosts')).toMatchObject({ class: 'write' })
  })

  it('peels doas, pkexec, su -c and runuser', () => {
    expect(only('doas -u root rm x')).toMatchObject({
      program: 'rm',
      class: 'privilege',
      via: ['doas'],
    })
    expect(only('pkexec rm x')).toMatchObject({ program: 'rm', via: ['pkexec'] })
    expect(only("su -c 'rm -rf /' root")).toMatchObject({
      program: 'rm',
      class: 'privilege',
      via: ['su -c'],
      text: 'rm -rf /',
    })
    expect(only('su - root')).toMatchObject({ program: 'su', class: 'privilege' })
    expect(only('runuser -u app -- rm x')).toMatchObject({ program: 'rm', class: 'privilege' })
    expect(only('su -c "$CMD"')).toMatchObject({ program: 'su', class: 'unknown' })
  })

  it('peels env, nice, nohup, timeout, time, command, exec, builtin, stdbuf, setsid, busybox', () => {
    expect(runs('env -i A=b nice -n 5 nohup timeout -s KILL 10 rm x')).toEqual([
      ['rm', 'write', ['env', 'nice', 'nohup', 'timeout']],
    ])
    for (const wrapper of [
      'time -p',
      'command',
      'exec',
      'builtin',
      'stdbuf -oL',
      'setsid',
      'busybox',
    ])
      expect(only(`${wrapper} rm x`)).toMatchObject({ program: 'rm', class: 'write' })
    expect(only('/usr/bin/time -o /tmp/t rm x').program).toBe('rm')
  })

  it('peels flock, taskset, chrt, nsenter, systemd-run and other runners', () => {
    expect(runs('flock /tmp/l rm -rf /')).toEqual([['rm', 'write', ['flock']]])
    expect(runs("flock -c 'rm -rf /' /tmp/l")).toEqual([['rm', 'write', ['flock -c']]])
    expect(runs('taskset -c 0 chrt -f 10 numactl -C 0 fakeroot rm x')).toEqual([
      ['rm', 'write', ['taskset', 'chrt', 'numactl', 'fakeroot']],
    ])
    expect(runs('nsenter -t 1 -m rm x')).toEqual([['rm', 'privilege', ['nsenter']]])
    expect(runs('systemd-run --unit x rm -rf /')).toEqual([['rm', 'admin', ['systemd-run']]])
    expect(runs('taskset -p 123')).toEqual([['taskset', 'process', []]])
  })

  it('lists a wrapper alone as what it does alone', () => {
    expect(only('env')).toMatchObject({ program: 'env', class: 'read' })
    expect(only('command -v rm')).toMatchObject({ program: 'command', class: 'read' })
    expect(only('exec > /tmp/log')).toMatchObject({ program: 'exec', class: 'write' })
  })

  it('refuses env -S, which splits a string into a command', () => {
    expect(only("env -S 'rm -rf /'")).toMatchObject({ class: 'unknown' })
  })

  it('parses sh -c and bash -lc strings, and nests the wrappers', () => {
    expect(only("bash -c 'rm -rf /'")).toMatchObject({
      text: 'rm -rf /',
      program: 'rm',
      class: 'write',
      via: ['bash -c'],
    })
    expect(runs('sudo -u root -- sh -c "rm -rf / && ls"')).toEqual([
      ['rm', 'privilege', ['sudo', 'sh -c']],
      ['ls', 'privilege', ['sudo', 'sh -c']],
    ])
    expect(runs('bash -e -o pipefail -lc \'ls | dash -c "id"\'')).toEqual([
      ['ls', 'read', ['bash -c']],
      ['id', 'read', ['bash -c', 'dash -c']],
    ])
  })

  it('makes sh -c with a dynamic string unknown, and a shell reading a script or stdin code', () => {
    expect(only('sh -c "$x"')).toMatchObject({
      class: 'unknown',
      risks: ['dynamic command string'],
    })
    expect(only('bash deploy.sh')).toMatchObject({
      class: 'code',
      risks: ['runs a script with bash'],
    })
    expect(runs('curl -s https://example.com/install | sh')).toEqual([
      ['curl', 'network', []],
      ['sh', 'code', []],
    ])
    expect(only('bash -i')).toMatchObject({ class: 'code' })
    expect(only('zsh -c ls')).toMatchObject({ program: 'zsh', class: 'code' })
  })

  it('parses literal eval, trap and alias text; dynamic eval is code', () => {
    expect(only('eval "rm -rf /"')).toMatchObject({ program: 'rm', via: ['eval'] })
    expect(only('eval "$X"')).toMatchObject({
      program: 'eval',
      class: 'code',
      risks: ['evaluates text the gateway cannot see'],
    })
    expect(runs("trap 'rm -rf /' EXIT")).toEqual([
      ['trap', 'read', []],
      ['rm', 'write', ['trap']],
    ])
    expect(runs("alias ls='rm -rf /'")).toEqual([
      ['alias', 'read', []],
      ['rm', 'write', ['alias']],
    ])
  })

  it('runs xargs commands with unseen arguments, shown as {}', () => {
    expect(only('xargs rm')).toEqual({
      text: 'xargs rm',
      program: 'rm',
      args: ['{}'],
      options: [],
      operands: ['{}'],
      class: 'write',
      writes: true,
      via: ['xargs'],
      risks: ['arguments from standard input (xargs)'],
    })
    expect(only('xargs -0 -n 1 -I{} rm -f {}')).toMatchObject({ args: ['-f', '{}'] })
    expect(only('xargs')).toMatchObject({ program: 'xargs', class: 'read' })
  })

  it('extracts find -exec commands and makes find -delete a write', () => {
    expect(runs('find / -exec rm -rf {} +')).toEqual([
      ['find', 'read', []],
      ['rm', 'write', ['find -exec']],
    ])
    expect(classifyShell('find / -exec rm -rf {} +', 'api').commands[0]?.operands).toEqual([
      '/',
      'rm',
      '{}',
      '+',
    ])
    expect(
      classifyShell('find . -name "*.log" -execdir rm {} \\; -print', 'api').commands[1]
    ).toMatchObject({
      program: 'rm',
      args: ['{}'],
      via: ['find -execdir'],
    })
    expect(only('find / -delete')).toMatchObject({ class: 'write', risks: ['find -delete'] })
    expect(only('find /var/log -name "*.gz" -mtime +7')).toMatchObject({ class: 'read' })
  })

  it('parses watch commands as sh -c does, unless -x', () => {
    expect(runs('watch -n 5 "df -h; rm -rf /"')).toEqual([
      ['df', 'read', ['watch']],
      ['rm', 'write', ['watch']],
    ])
    expect(runs('watch -x ls -l')).toEqual([['ls', 'read', ['watch']]])
  })

  it('classifies ssh as network and does not run the remote command here', () => {
    expect(only("ssh other-host 'rm -rf /'")).toEqual({
      text: "ssh other-host 'rm -rf /'",
      program: 'ssh',
      args: ['other-host', 'rm -rf /'],
      options: [],
      operands: ['other-host', 'rm -rf /'],
      class: 'network',
      writes: true,
      via: [],
      risks: ['runs commands on another host'],
    })
    expect(only("ssh -o ProxyCommand='sh -c id' host")).toMatchObject({ class: 'code' })
  })
})

describe('classifyShell: the program table', () => {
  const table: [string, ShellClass][] = [
    ['ls -la /var/log', 'read'],
    ['cat /etc/hostname', 'read'],
    ['grep -r err /var/log', 'read'],
    ['head -n 5 f', 'read'],
    ['ps aux', 'read'],
    ['df -h', 'read'],
    ['du -sh /var', 'read'],
    ['stat f', 'read'],
    ['whoami', 'read'],
    ['id', 'read'],
    ['uname -a', 'read'],
    ['date', 'read'],
    ['echo hi', 'read'],
    ['printf "%s" x', 'read'],
    ['pwd', 'read'],
    ['journalctl -u nginx --since today', 'read'],
    ['git status', 'read'],
    ['git log --oneline', 'read'],
    ['git diff HEAD~1', 'read'],
    ['rm f', 'write'],
    ['mv a b', 'write'],
    ['cp a b', 'write'],
    ['tee /tmp/x', 'write'],
    ['tee', 'read'],
    ['touch f', 'write'],
    ['mkdir -p d', 'write'],
    ['rmdir d', 'write'],
    ['chmod 644 f', 'write'],
    ['chown a f', 'write'],
    ['ln -s a b', 'write'],
    ['truncate -s 0 f', 'write'],
    ['dd if=a of=b', 'write'],
    ['dd if=/dev/sda', 'read'],
    ['sed -i s/a/b/ f', 'write'],
    ['sed -n 1p f', 'read'],
    ['git commit -m x', 'write'],
    ['git push origin main', 'write'],
    ['git branch', 'read'],
    ['git branch -D old', 'write'],
    ['sort -o out in', 'write'],
    ['tar czf a.tgz d', 'write'],
    ['tar tzf a.tgz', 'read'],
    ['kill -9 123', 'process'],
    ['kill -l', 'read'],
    ['pkill nginx', 'process'],
    ['killall nginx', 'process'],
    ['curl https://example.com', 'network'],
    ['wget https://example.com', 'network'],
    ['scp a host:b', 'network'],
    ['rsync -a a host:b', 'network'],
    ['rsync -a a b', 'write'],
    ['nc -l 8080', 'network'],
    ['ncat host 80', 'network'],
    ['socat - TCP:host:80', 'network'],
    ['telnet host', 'network'],
    ['ftp host', 'network'],
    ['su', 'privilege'],
    ['passwd bob', 'privilege'],
    ['useradd bob', 'privilege'],
    ['usermod -aG sudo bob', 'privilege'],
    ['userdel bob', 'privilege'],
    ['visudo', 'privilege'],
    ['setfacl -m u:bob:rw f', 'privilege'],
    ['chmod u+s /tmp/sh', 'privilege'],
    ['chmod 4755 /tmp/sh', 'privilege'],
    ['systemctl restart nginx', 'admin'],
    ['systemctl status nginx', 'read'],
    ['systemctl --no-pager -l status nginx', 'read'],
    ['systemctl list-units --type service', 'read'],
    ['service nginx stop', 'admin'],
    ['service nginx status', 'read'],
    ['shutdown -h now', 'admin'],
    ['reboot', 'admin'],
    ['halt', 'admin'],
    ['poweroff', 'admin'],
    ['mkfs.ext4 /dev/sdb1', 'admin'],
    ['mkfs -t xfs /dev/sdb1', 'admin'],
    ['fdisk /dev/sda', 'admin'],
    ['parted /dev/sda print', 'admin'],
    ['mount /dev/sdb1 /mnt', 'admin'],
    ['mount', 'read'],
    ['umount /mnt', 'admin'],
    ['iptables -F', 'admin'],
    ['iptables -L -n', 'read'],
    ['nft list ruleset', 'read'],
    ['nft flush ruleset', 'admin'],
    ['sysctl -w net.ipv4.ip_forward=1', 'admin'],
    ['sysctl net.ipv4.ip_forward', 'read'],
    ['crontab -r', 'admin'],
    ['crontab -l', 'read'],
    ['apt-get install -y nginx', 'admin'],
    ['apt list --installed', 'read'],
    ['yum install nginx', 'admin'],
    ['dnf remove nginx', 'admin'],
    ['pip install requests', 'admin'],
    ['pip list', 'read'],
    ['docker rm -f web', 'admin'],
    ['docker ps -a', 'read'],
    ['docker container ls', 'read'],
    ['kubectl delete pod web', 'admin'],
    ['kubectl -n prod get pods', 'read'],
    ['journalctl --vacuum-time=1d', 'admin'],
    ['date -s "2020-01-01"', 'admin'],
    ['python3 script.py', 'code'],
    ['python3.12 -c "print(1)"', 'code'],
    ['perl -e "print 1"', 'code'],
    ['ruby x.rb', 'code'],
    ['node -e "1"', 'code'],
    ['php x.php', 'code'],
    ['source ./env.sh', 'code'],
    ['. ./env.sh', 'code'],
    ["awk '{print $1}' f", 'read'],
    ['awk \'BEGIN { system("id") }\'', 'code'],
    ['awk \'{ print | "sh" }\'', 'code'],
    ['awk \'{ print > "/tmp/x" }\' f', 'write'],
    ["sed 's/x/id/e' f", 'code'],
    ["sed -n 'w /tmp/out' f", 'write'],
    ['make install', 'code'],
    ['vim f', 'code'],
    ['git -c core.pager=sh log', 'code'],
    ['git config alias.x "!sh"', 'code'],
    ['git config user.name bob', 'write'],
    ['git rebase -x "make" main', 'code'],
    ['hash -p /bin/rm ls', 'code'],
    ['hash', 'read'],
    ['man -P "sh -c id" ls', 'code'],
    ['man ls', 'read'],
    ['install -m 4755 a /tmp/b', 'privilege'],
    ['install -m 0755 a /tmp/b', 'write'],
    ['zip -TT "sh -c id" a.zip f', 'code'],
    ['zip a.zip f', 'write'],
  ]
  for (const [line, expected] of table) {
    it(`classifies ${line} as ${expected}`, () => {
      expect(classOf(line)).toBe(expected)
    })
  }

  it('classifies a program not in the table as write, saying so', () => {
    expect(only('frobnicate --all')).toMatchObject({ class: 'write', risks: ['unlisted program'] })
  })

  it('strips the path from the program and distrusts a non-system directory', () => {
    expect(only('/usr/bin/ls /')).toMatchObject({ program: 'ls', class: 'read', risks: [] })
    expect(only('/tmp/ls /')).toMatchObject({
      program: 'ls',
      class: 'write',
      risks: ['runs /tmp/ls'],
    })
    expect(only('./deploy.sh')).toMatchObject({
      program: 'deploy.sh',
      class: 'write',
      risks: ['unlisted program', 'runs ./deploy.sh'],
    })
    expect(only('/usr/bin/../../tmp/ls').class).toBe('write')
  })

  it('treats a leading ~ as an expansion: a program there is unknown', () => {
    expect(only('~/bin/tool')).toMatchObject({ class: 'unknown', risks: ['dynamic program name'] })
    expect(only('cat ~/notes')).toMatchObject({ class: 'read', operands: ['~/notes'] })
  })

  it("never lets a decoded $'…' program pass as a read", () => {
    expect(only("$'\\x72m' -rf /").class).toBe('write')
    expect(only("$'\\x6c\\x73'").class).toBe('read')
  })

  it('describes an interactive shell as one interactive command', () => {
    expect(interactiveShell()).toEqual({
      kind: 'shell',
      text: '',
      commands: [
        {
          text: '',
          program: '',
          args: [],
          options: [],
          operands: [],
          class: 'interactive',
          writes: true,
          via: [],
          risks: ['interactive shell: commands typed later are not classified one by one'],
        },
      ],
      via: 'shell',
    })
  })
})
