/**
 * What each program does, coarsely, when nothing in its arguments says otherwise. Programs
 * whose class depends on their arguments (git, systemctl, find, sed, …) are judged in
 * judges-*.ts; wrappers that run another command (sudo, env, sh -c, …) in wrappers.ts.
 *
 * A program in none of these is classified `write` with the risk `unlisted program`: it
 * may change anything, so a policy that allows reads does not allow it, yet a policy that
 * already trusts a caller with writes is not broken by every local script. `unknown` stays
 * for what the gateway could not read (unparseable lines, dynamic program names), so that a
 * rule on `unknown` means exactly "the gateway cannot tell".
 */
import type { ShellClass } from '../../pipeline/types.ts'

const READ = words(`
  ls dir vdir cat tac nl head tail less more most grep egrep fgrep rg ag ack zgrep zegrep zfgrep
  zcat zless zmore bzcat xzcat zstdcat lz4cat wc cut tr paste join comm diff diff3 sdiff cmp
  column fold fmt expand unexpand od hexdump xxd strings file stat readlink realpath basename
  dirname namei tree locate rev shuf tsort pr iconv look lsattr getfacl md5sum sha1sum sha224sum
  sha256sum sha384sum sha512sum b2sum cksum sum base64 base32 basenc jq nm objdump readelf size
  ldd ps pgrep pidof pstree top htop atop vmstat iostat mpstat pidstat sar free uptime w who
  users last lastb lastlog id whoami groups logname uname arch nproc df du lsblk blkid findmnt
  lscpu lsmod lspci lsusb lsns lsof lslocks lsipc getent getcap printenv locale tty getconf
  netstat ss nstat arp cal iptables-save ip6tables-save dpkg-query apt-cache needrestart echo
  printf pwd cd pushd popd dirs true false test [ [[ (( : sleep seq yes expr factor numfmt bc
  which whereis type hash help man info apropos whatis history jobs wait read shift return exit
  logout break continue getopts umask ulimit times set shopt unset unalias local declare typeset
  export readonly let tput stty sync clear reset
`)

const WRITE = words(`
  rm rmdir mv cp touch mkdir ln link unlink truncate mktemp shred rename chown chgrp
  split csplit patch unzip gzip gunzip bzip2 bunzip2 xz unxz zstd unzstd lz4 7z 7za rar unrar
  cpio ar dos2unix unix2dos nano pico sponge ssh-keygen htpasswd mkfifo fallocate setfattr
  sqlite3 sudoedit
`)

const PROCESS = words(`
  kill pkill killall killall5 skill snice renice disown fg bg
`)

/** Commands that reach other hosts: a foothold for lateral movement. */
const NETWORK = words(`
  curl wget ssh scp sftp nc ncat netcat socat telnet ftp tftp lftp ping ping6 traceroute
  tracepath mtr dig nslookup host whois nmap ssh-copy-id ssh-keyscan aria2c http https xh mosh
  ldapsearch mysql psql redis-cli mongo mongosh sqlcmd
`)

const PRIVILEGE = words(`
  su passwd chpasswd chage useradd usermod userdel adduser deluser groupadd groupmod groupdel
  addgroup delgroup gpasswd newgrp sg visudo vipw vigr setfacl setcap capsh chsh chfn newuidmap
  newgidmap
`)

const ADMIN = words(`
  shutdown reboot halt poweroff init telinit mke2fs mkswap swapon swapoff fdisk sfdisk cfdisk
  gdisk sgdisk parted partprobe wipefs blkdiscard hdparm umount losetup cryptsetup mdadm lvm
  lvcreate lvremove lvextend lvreduce lvresize lvchange vgcreate vgremove vgextend vgreduce
  vgchange pvcreate pvremove pvmove dmsetup fsck e2fsck tune2fs resize2fs xfs_repair xfs_growfs
  btrfs zfs zpool iptables-restore ip6tables-restore at batch atrm modprobe insmod
  rmmod depmod ldconfig update-alternatives update-grub grub-install update-initramfs dracut
  setenforce auditctl logrotate chattr kexec mknod ifup ifdown tc brctl quotacheck setquota
  edquota chcon
`)

/** Programs that run code the gateway cannot see: interpreters, editors, build tools. */
const CODE = words(`
  python python2 python3 pypy pypy3 perl ruby irb node nodejs deno bun php lua luajit Rscript R
  tclsh wish expect java jshell groovy scala kotlin osascript pwsh csh tcsh fish ksh mksh zsh
  source . make gmake cmake npx bunx tmux screen script vi vim nvim view ex ed emacs gdb lldb
  strace ltrace parallel dc ansible ansible-playbook terraform fc
`)

function words(list: string): string[] {
  return list.trim().split(/\s+/)
}

function table(): Map<string, ShellClass> {
  const map = new Map<string, ShellClass>()
  const add = (programs: readonly string[], cls: ShellClass) => {
    for (const program of programs) map.set(program, cls)
  }
  add(READ, 'read')
  add(WRITE, 'write')
  add(PROCESS, 'process')
  add(NETWORK, 'network')
  add(PRIVILEGE, 'privilege')
  add(ADMIN, 'admin')
  add(CODE, 'code')
  return map
}

/** Program basename → class, for programs whose arguments do not change it. */
export const PROGRAM_CLASSES: ReadonlyMap<string, ShellClass> = table()

/** Families named by prefix: `mkfs.ext4`, `python3.12`, `pip3.11`. */
export const PROGRAM_PREFIXES: readonly [RegExp, ShellClass][] = [
  [/^mkfs(\..*)?$/, 'admin'],
  [/^python[0-9.]*$/, 'code'],
  [/^perl[0-9.]*$/, 'code'],
  [/^ruby[0-9.]*$/, 'code'],
  [/^php[0-9.]*$/, 'code'],
]

/** Where the system's own programs live: a program run from elsewhere may be anything. */
export const SYSTEM_DIRECTORIES: ReadonlySet<string> = new Set([
  '/bin',
  '/sbin',
  '/usr/bin',
  '/usr/sbin',
  '/usr/local/bin',
  '/usr/local/sbin',
])

/**
 * Variables that make the next program run other code: the loader, the shell's startup
 * files, pagers and editors, git's helpers, interpreters' startup options, imported bash
 * functions. Setting one (`LD_PRELOAD=… ls`, `export PATH=…`) makes the command `code`.
 */
export const CODE_VARIABLES =
  /^(?:LD_[A-Z_]+|DYLD_[A-Z_]+|BASH_FUNC_.*|BASH_ENV|ENV|PATH|SHELL|SHELLOPTS|BASHOPTS|PROMPT_COMMAND|PS[0-4]|PAGER|MANPAGER|SYSTEMD_PAGER|EDITOR|VISUAL|SUDO_EDITOR|SSH_ASKPASS|SUDO_ASKPASS|LESSOPEN|LESSCLOSE|GCONV_PATH|ZDOTDIR|GIT_(?:SSH|SSH_COMMAND|PAGER|EDITOR|SEQUENCE_EDITOR|EXTERNAL_DIFF|ASKPASS|EXEC_PATH|PROXY_COMMAND|CONFIG.*|TEMPLATE_DIR|DIR)|PYTHON(?:PATH|HOME|STARTUP|USERBASE|EXECUTABLE)|PERL5OPT|PERL5LIB|PERLLIB|PERL5DB|RUBYOPT|RUBYLIB|NODE_OPTIONS|NODE_PATH)$/
