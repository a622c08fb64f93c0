/**
 * The `masking` section of a connection's policy: which columns, JSON paths and content
 * detectors mask what, with which strategy, and who is exempt. Kept as written;
 * masking/profile.ts binds it to a caller and the masking key.
 */
import { z } from 'zod'
import { parseJsonPath } from '../masking/json/json-path.ts'
import { DETECTOR_NAMES, MASK_STRATEGIES } from '../masking/types.ts'
import { Subject } from './subject.ts'

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_$]*'

/** `public.customers.email` or `customers.email` (any schema), folded to lower case. */
const ColumnName = z
  .string()
  .regex(
    new RegExp(`^${IDENTIFIER}(\\.${IDENTIFIER}){1,2}$`),
    'must be schema.table.column or table.column'
  )

/**
 * `$.customers[*].email`, `$..card`, `$.data.*.token`, `$['odd key']`: see
 * masking/json/json-path.ts for the grammar.
 */
const JsonPathText = z
  .string()
  .max(500)
  .superRefine((text, ctx) => {
    try {
      parseJsonPath(text)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message })
    }
  })

export const MaskStrategy = z.enum(MASK_STRATEGIES)

/** A strategy, or a strategy with callers who see the value unmasked. */
export const MaskRule = z.union([
  MaskStrategy,
  z
    .object({
      strategy: MaskStrategy,
      /** Callers who see this value unmasked (they are still recorded masked). */
      exempt: z.array(Subject).min(1).optional(),
    })
    .strict(),
])
export type MaskRule = z.infer<typeof MaskRule>

/** `all` sets the strategy of every detector not listed by name. */
export const DetectorKey = z.enum([...DETECTOR_NAMES, 'all'])

export const MaskingPolicy = z
  .object({
    /** Callers who see everything unmasked on this connection (transcripts stay masked). */
    exempt: z.array(Subject).min(1).optional(),
    /** Sensitive columns; anything derived from one is masked too (Postgres). */
    columns: z.record(ColumnName, MaskRule).default({}),
    /** Values at these JSON paths in HTTP and API bodies. */
    paths: z.record(JsonPathText, MaskRule).default({}),
    /** Detectors run on every text value that leaves (rows, bodies, errors). */
    detectors: z.partialRecord(DetectorKey, MaskRule).default({}),
    /**
     * A statement that reads a sensitive table but whose result columns cannot all be
     * traced: `refuse` it (before it reaches the origin), or `mask` every column.
     */
    unknownLineage: z.enum(['refuse', 'mask']).default('refuse'),
  })
  .strict()
export type MaskingPolicy = z.infer<typeof MaskingPolicy>
