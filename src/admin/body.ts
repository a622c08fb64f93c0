/** Reads and validates admin request bodies with zod; problems come back as a 400 listing them. */
import type { z } from 'zod'
import { GatehouseError } from '../errors.ts'
import { describeIssues } from '../policy/document.ts'

export async function readJson<S extends z.ZodType>(
  request: Request,
  schema: S
): Promise<z.infer<S>> {
  let body: unknown
  try {
    body = await request.json()
  } catch {
    throw new GatehouseError('request.invalid', 'The request body must be JSON.')
  }
  return parseWith(schema, body, 'request.invalid', 'The request body is invalid')
}

export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: 'request.invalid' | 'policy.invalid',
  summary: string
): z.infer<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = describeIssues(result.error)
  throw new GatehouseError(
    code,
    `${summary}: ${issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')}`,
    { data: { issues } }
  )
}
