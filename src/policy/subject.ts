/** Principal references, shared by every part of the policy document that names callers. */
import { z } from 'zod'

/**
 * A principal reference: `user:<subject or e-mail>`, `agent:<token name>`, `idp:<IdP group>`
 * or `group:<Gatehouse group>`.
 */
export const Subject = z
  .string()
  .regex(
    /^(user|agent|idp|group):\S.*$/,
    'must be user:<subject or e-mail>, agent:<name>, idp:<IdP group> or group:<group>'
  )
export type Subject = z.infer<typeof Subject>
