/** What the test origin's `/customers` route serves: records with sensitive fields. */

export const ORIGIN_CUSTOMERS = [
  {
    id: 1,
    order: 'ORD-2024-000123',
    email: 'ada@example.com',
    card: { number: '4111 1111 1111 1111', expires: '2029-04' },
    note: 'key AKIAIOSFODNN7EXAMPLE rotated on 2026-01-02T03:04:05Z',
  },
  {
    id: 2,
    order: 'ORD-2024-000124',
    email: 'grace@example.com',
    card: { number: '5500 0055 5555 5559', expires: '2030-01' },
    note: 'call +1 202 555 0143 after 5pm',
  },
]
