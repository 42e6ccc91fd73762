import { Type } from 'typebox'

// The DecisionRequest of the HTTP contract (shared/contract.md), written out here rather than
// imported from src/, so that the baselines stay the same while the service's internals change.
const str = (values: readonly string[]) => Type.Unsafe<string>({ type: 'string', enum: [...values] })
const Uuid = Type.String({ format: 'uuid', maxLength: 36 })

const DATA_ITEMS = [
  'name',
  'name_kana',
  'address',
  'phone',
  'email',
  'member_number',
  'date_of_birth',
  'household',
  'bank_account',
  'credit_card',
  'billing_amount',
  'order_history',
  'capital_contribution',
  'insurance_application',
  'travel_booking',
  'activity_participation',
  'health_care'
]
const FIELDS = {
  joint_use: ['jointUser'],
  entrustment: ['contractorId'],
  third_party: ['recipientId', 'method'],
  statutory_exception: ['exception']
} as const
const SPECIFIC = Object.values(FIELDS).flat() as string[]

/** Same fields, enums, bounds and per-channel if/then rules as the service's request body. */
export const DecisionRequestSchema = Type.Object(
  {
    channel: str(Object.keys(FIELDS)),
    memberId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', minLength: 1, maxLength: 64 }),
    purpose: str([
      'membership_invitation',
      'product_information',
      'ordering',
      'delivery',
      'brokerage',
      'billing',
      'after_sales',
      'urgent_contact',
      'survey',
      'welfare_procedures',
      'capital_contribution',
      'membership_records',
      'member_activities',
      'governance'
    ]),
    serviceCategory: Type.Optional(str(['joint_purchasing', 'mutual_aid_insurance', 'housing', 'travel', 'welfare', 'other_living'])),
    dataItems: Type.Array(str(DATA_ITEMS), { minItems: 1, maxItems: 64, uniqueItems: true }),
    recipientId: Type.Optional(Uuid),
    contractorId: Type.Optional(Uuid),
    jointUser: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
    method: Type.Optional(str(['document', 'electronic'])),
    exception: Type.Optional(
      Type.Object(
        {
          basis: str(['legal_obligation', 'vital_interest']),
          reference: Type.String({ minLength: 1, maxLength: 500 }),
          approvedBy: Type.String({ minLength: 1, maxLength: 200 }),
          consentImpracticable: Type.Optional(Type.String({ minLength: 1, maxLength: 500 }))
        },
        { additionalProperties: false }
      )
    )
  },
  {
    additionalProperties: false,
    allOf: Object.entries(FIELDS).map(([channel, required]) => ({
      if: { properties: { channel: { const: channel } }, required: ['channel'] },
      then: {
        required: [...required],
        properties: Object.fromEntries(SPECIFIC.filter((f) => !(required as readonly string[]).includes(f)).map((f) => [f, false]))
      }
    }))
  }
)

/** Where a target tells the bench it has bound its port. */
export const HEALTH_PATH = '/healthz'
