/**
 * Statements that define or run code the parser cannot see into: DO blocks, CREATE and
 * ALTER FUNCTION/PROCEDURE. A DO block is dynamic SQL, so it is unknown; defining a
 * function is DDL, unless its language runs native or OS-level code.
 */
import { type NodeFields, optionText } from './ast.ts'
import type { StatementVerdict } from './statements.ts'

/** DO [LANGUAGE x] $$ … $$: whatever the body says, decided at run time. */
export function judgeDo(fields: NodeFields): StatementVerdict {
  const risks = ['dynamic SQL (DO block)']
  const language = optionText(fields.args, 'language')?.toLowerCase() ?? 'plpgsql'
  if (isUntrustedLanguage(language)) risks.push(`untrusted language ${language}`)
  return { class: 'unknown', writes: true, risks }
}

/** CREATE [OR REPLACE] FUNCTION | PROCEDURE. */
export function judgeCreateFunction(fields: NodeFields): StatementVerdict {
  const what = fields.is_procedure ? 'procedure' : 'function'
  // LANGUAGE may be left out only for a SQL-standard body (BEGIN ATOMIC … END).
  const language = optionText(fields.options, 'language')?.toLowerCase() ?? 'sql'
  const risks = [`defines ${what} (LANGUAGE ${language})`]
  if (isSecurityDefiner(fields.options)) risks.push('security definer')
  if (!isUntrustedLanguage(language)) return { class: 'ddl', writes: true, risks }
  return { class: 'admin', writes: true, risks: [...risks, `untrusted language ${language}`] }
}

/** ALTER FUNCTION | PROCEDURE | ROUTINE. */
export function judgeAlterFunction(fields: NodeFields): StatementVerdict {
  return {
    class: 'ddl',
    writes: true,
    risks: isSecurityDefiner(fields.actions) ? ['security definer'] : [],
  }
}

/**
 * Untrusted procedural languages run code as the server's OS user; C and internal load
 * native code. (Trusted PLs end in a letter other than `u`; their untrusted twins add one.)
 */
function isUntrustedLanguage(language: string): boolean {
  return (
    language === 'c' ||
    language === 'internal' ||
    language === 'plsh' ||
    (language.startsWith('pl') && language.endsWith('u'))
  )
}

function isSecurityDefiner(options: unknown): boolean {
  return optionText(options, 'security') === 'true'
}
