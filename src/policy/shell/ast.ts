/**
 * The shape the shell parser hands the classifier: only what policy needs. Pipelines,
 * `&&`/`||` lists and loops are flattened (every command in them may run); what stays is
 * each simple command with its words, assignments and redirections, and the scripts nested
 * in words (command and process substitutions) so they are classified too.
 */

/** A piece of a word: literal text (quoted or not), or an expansion kept as written. */
export type WordPart =
  | { kind: 'literal'; value: string; quoted: boolean }
  | { kind: 'expansion'; text: string }

export type Word = {
  /** As written in the source. */
  text: string
  parts: WordPart[]
  /** Scripts run while the word is expanded: `$(…)`, backticks, `<(…)`, `>(…)`. */
  substitutions: Substitution[]
  /** Why expanding the word may evaluate text as code (arithmetic on variables, `${x@P}`). */
  evaluates: string[]
}

export type Substitution = { kind: 'command' | 'process'; script: ScriptNode[] }

export type Redirect = {
  /** `>`, `>>`, `>|`, `<`, `<>`, `<<`, `<<-`, `<<<`, `>&`, `<&`, `&>`, `&>>`. */
  op: string
  /** The file descriptor written before the operator (`2>`), if any. */
  fd: string | null
  /** The target word (for here-docs: the delimiter). */
  target: Word
  heredoc?: Heredoc
}

export type Heredoc = {
  body: string
  /** A quoted delimiter (`<<'EOF'`) makes the body plain data; else it is expanded. */
  quoted: boolean
  substitutions: Substitution[]
  evaluates: string[]
}

export type SimpleNode = {
  type: 'simple'
  /** The command as written, from its first word or redirection to its last. */
  text: string
  assignments: Word[]
  words: Word[]
  redirects: Redirect[]
}

/**
 * A compound command (subshell, group, if, loop, case, function body, `[[ ]]`, `(( ))`):
 * the words it expands itself (loop lists, case subjects and patterns, arithmetic) and the
 * redirections that apply to everything inside.
 */
export type CompoundNode = {
  type: 'compound'
  keyword: string
  /** The name a `function` defines. */
  name?: string
  text: string
  words: Word[]
  body: ScriptNode[]
  redirects: Redirect[]
}

export type ScriptNode = SimpleNode | CompoundNode

/** Thrown by the parser for anything it cannot read with certainty; the caller fails closed. */
export class ShellSyntaxError extends Error {
  override name = 'ShellSyntaxError'
}
