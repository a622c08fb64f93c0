/**
 * Shell command lines as policy sees them. The SSH protocol, the exec API and the policy
 * test endpoint import from here.
 */
export { riskier, SHELL_CLASS_RISK, type ShellClass } from './classes.ts'
export { classifyShell, interactiveShell, MAX_SHELL_COMMANDS } from './classify.ts'
export { MAX_SHELL_CHARS } from './parse.ts'
