/**
 * How `COPY … TO STDOUT` lays out its rows, from its options, so the tunnel can find the
 * fields in CopyData. The old spellings (`WITH CSV HEADER`, `BINARY`, `DELIMITER AS`) reach
 * here as the same options. Defaults from Postgres: COPY, "Parameters" and "File Formats".
 */
import type { Node } from 'libpg-query'
import { hasOption, optionText } from '../../policy/sql/ast.ts'
import type { CopyOut } from './catalog.ts'

/** The format COPY will use; null for one Postgres would refuse (it then sends no rows). */
export function copyOutOptions(options: readonly Node[] | undefined): CopyOut | null {
  const format = (optionText(options, 'format') ?? 'text').toLowerCase()
  if (format !== 'text' && format !== 'csv' && format !== 'binary') return null
  const csv = format === 'csv'
  const quote = optionText(options, 'quote') ?? '"'
  return {
    format,
    delimiter: optionText(options, 'delimiter') ?? (csv ? ',' : '\t'),
    quote,
    escape: optionText(options, 'escape') ?? quote,
    nullString: optionText(options, 'null') ?? (csv ? '' : '\\N'),
    header: hasOption(options, 'header'),
  }
}
