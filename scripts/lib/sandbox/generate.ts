// Deterministic tenant generator for the Keap sandbox. Every base record is a pure function of
// (seed, entity, index k), so a 1,000,000-contact tenant costs no memory until a record is asked
// for; only mutations are stored (see store.ts). Shapes follow the official v2 OpenAPI schemas.
//
// Data is deliberately nasty but legal: accents, CJK, RTL and emoji in names, apostrophes and
// quotes, optional fields missing, empty arrays, custom-field text at the 65,535-char maximum,
// and every enum value of every enum we serve (cycled by index so even small tenants have all).
// The spec declares no nullable property, so explicit `null` appears only where it is legal: in
// custom-field `content` (untyped), where unset fields are null. `nulls: true` instead mimics the
// live API's nulls for absent optional strings, at the cost of no longer validating.
import { hash4, unit, Rng, iso, isoDate } from './util.ts';
import { stageMove, STAGE_MOVES_PER_OPPORTUNITY } from './stage-moves.ts';

/** Entities whose records never change after creation (their "modified" time is their creation time). */
const APPEND_ONLY: ReadonlySet<string> = new Set(['stage_moves']);
import { payment, productCategory, transaction } from './sales.ts';

export type Rec = Record<string, unknown>;

export const ENTITY_NAMES = [
  'contacts',
  'companies',
  'tags',
  'tag_categories',
  'users',
  'products',
  'stages',
  'opportunities',
  'orders',
  'subscriptions',
  'notes',
  'tasks',
  'stage_moves',
  'payments',
  'transactions',
  'product_categories',
] as const;
export type EntityName = (typeof ENTITY_NAMES)[number];

const CODE: Record<EntityName, number> = {
  contacts: 1,
  companies: 2,
  tags: 3,
  tag_categories: 4,
  users: 5,
  products: 6,
  stages: 7,
  opportunities: 8,
  orders: 9,
  subscriptions: 10,
  notes: 11,
  tasks: 12,
  stage_moves: 17,
  payments: 14,
  transactions: 15,
  product_categories: 16,
};
const LINKS = 13;

/** How ids are laid out: id = offset + k*stride + (hash % stride), which leaves realistic gaps yet stays invertible. */
export interface IdScheme {
  offset: number;
  stride: number;
}
export const ID_SCHEME: Record<EntityName, IdScheme> = {
  contacts: { offset: 1, stride: 2 },
  companies: { offset: 500, stride: 2 },
  tags: { offset: 90, stride: 3 },
  tag_categories: { offset: 1, stride: 2 },
  users: { offset: 1, stride: 2 },
  products: { offset: 200, stride: 3 },
  stages: { offset: 1, stride: 1 },
  opportunities: { offset: 7000, stride: 2 },
  orders: { offset: 44000, stride: 2 },
  subscriptions: { offset: 3000, stride: 2 },
  notes: { offset: 55000, stride: 2 },
  tasks: { offset: 81000, stride: 2 },
  stage_moves: { offset: 30000, stride: 1 },
  payments: { offset: 60000, stride: 2 },
  // Transactions carry no id in v2; the store keys them by this internal id, never served.
  transactions: { offset: 1, stride: 1 },
  // Products name categories 10..14 (see product()).
  product_categories: { offset: 10, stride: 1 },
};

export interface TenantShape {
  seed: number;
  counts: Record<EntityName, number>;
  /** Earliest generated timestamp. */
  t0: number;
  /** Every generated timestamp is strictly before this, so live mutations always sort later. */
  anchor: number;
  nulls: boolean;
}

const DEFAULT_ANCHOR = Date.parse('2026-10-01T00:00:00.000Z');
const T0 = Date.parse('2019-01-01T00:00:00.000Z');

/** Realistic proportions for a small-business CRM, scaled from the contact count. */
export function tenantShape(seed: number, contacts: number, nowMs: number, nulls = false): TenantShape {
  const n = Math.max(0, Math.floor(contacts));
  const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, Math.round(v)));
  const tags = clamp(20 + Math.sqrt(n) * 1.5, 20, 2000);
  const counts: Record<EntityName, number> = {
    contacts: n,
    companies: clamp(n / 25, 5, 1e9),
    tags,
    tag_categories: clamp(tags / 8, 4, 60),
    users: clamp(4 + Math.sqrt(n) / 10, 5, 250),
    products: clamp(10 + Math.sqrt(n) / 2, 12, 1000),
    stages: 8,
    opportunities: clamp(n / 30, 3, 1e9),
    orders: clamp(n / 5, 5, 1e9),
    subscriptions: clamp(n / 40, 3, 1e9),
    notes: clamp(n / 3, 5, 1e9),
    tasks: clamp(n / 6, 5, 1e9),
    stage_moves: 0,
    payments: clamp(n / 8, 5, 1e9),
    transactions: clamp(n / 7, 5, 1e9),
    product_categories: 5,
  };
  counts.stage_moves = STAGE_MOVES_PER_OPPORTUNITY * counts.opportunities;
  const anchor = Math.min(DEFAULT_ANCHOR, nowMs - 60_000);
  return { seed, counts, t0: Math.min(T0, anchor - 86_400_000 * 365), anchor, nulls };
}

export function idOf(shape: TenantShape, e: EntityName, k: number): number {
  const s = ID_SCHEME[e];
  return s.offset + k * s.stride + (s.stride > 1 ? hash4(shape.seed, CODE[e], k, 99) % s.stride : 0);
}

/** Inverse of idOf; -1 when the id is not a base record. */
export function kOf(shape: TenantShape, e: EntityName, id: number): number {
  const s = ID_SCHEME[e];
  if (!Number.isInteger(id) || id < s.offset) return -1;
  const k = Math.floor((id - s.offset) / s.stride);
  if (k >= shape.counts[e]) return -1;
  return idOf(shape, e, k) === id ? k : -1;
}

export function maxBaseId(shape: TenantShape, e: EntityName): number {
  const s = ID_SCHEME[e];
  return s.offset + shape.counts[e] * s.stride;
}

// ---------------------------------------------------------------------------------------------
// Pools. Mixed on purpose: most values are plain, a steady fraction are the hard cases.

const GIVEN = ['Maria', 'Daniel', 'Alex', 'Sam', 'Jordan', 'Taylor', 'Chris', 'Pat', 'Lena', 'Ravi', 'Priya', 'Omar', 'Grace', 'Henry', 'Olivia', 'Noah', 'Emma', 'Liam', 'Sofia', 'Lucas', 'Mia', 'Ethan', 'Ava', 'Mason', 'Isabella', 'Logan', 'Chloe', 'Jacob', 'Ella', 'Owen'];
const GIVEN_NASTY = ['José', 'Zoë', 'François', 'Łukasz', 'Søren', 'Björk', 'Ólafur', 'Nuño', 'Małgorzata', 'Ðorđe', '太郎', '美咲', '민준', '伟', 'محمد', 'דוד', 'Ана', 'Chloé 💖', '🚀 Max', "D'Angelo", 'Robert "Bob"', "N'Golo", 'Mary-Jane', 'Jean‑Luc', 'Zażółć', 'Ærin', 'Renée', 'Siân'];
const FAMILY = ['Gonzalez', 'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Moore', 'Jackson', 'Martin', 'Lee', 'Patel', 'Nguyen', 'Kim', 'Cho', 'Rivera', 'Ortiz', 'Blake', 'Clark', 'Lewis', 'Young'];
const FAMILY_NASTY = ["O'Brien", "D'Souza", 'Müller', 'Øvergård', 'Dvořák', 'Nuñez', 'Çelik', 'Şahin', 'van der Berg', 'de la Cruz', '山田', '王', '김', 'Иванов', 'عبد الله', 'כהן', "O'Neil-Smythe", 'McDonald "Mac"', 'Leß', 'Świątek', '🦄 Unicorn', 'Back\\slash', 'Ng', 'Ó Súilleabháin'];
const ALL_GIVEN = [...GIVEN, ...GIVEN_NASTY];
const MIDDLE = ['L', 'J.', 'Ann', 'Marie', 'Lee', 'Ray', 'Q', 'Élise', 'ß', 'Jo'];
const PREFIX = ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.', 'Mx.'];
const SUFFIX = ['Jr.', 'Sr.', 'II', 'III', 'PhD', 'MD', 'Esq.'];
const JOBS = ['Operations Manager', 'Owner', 'CEO', 'Office Manager', 'Sales Rep', 'Marketing Lead', 'Bookkeeper', 'Consultant', 'Directeur général', 'Gerente de Ventas', '営業部長', 'Head of "Growth"', "Director, Owner's Office", 'Nurse Practitioner', 'Teacher'];
const CONTACT_TYPES = ['Lead', 'Customer', 'Prospect', 'Partner', 'Vendor', 'Other'];
const SOURCE_TYPES = ['SOURCE_TYPE_UNSPECIFIED', 'API', 'APPOINTMENT', 'FORM_API_HOSTED', 'FORM_API_INTERNAL', 'IMPORT', 'INTERNAL_FORM', 'LANDING_PAGE', 'MANUAL', 'OTHER', 'UNKNOWN', 'WEBFORM'] as const;
export const EMAIL_OPT_STATUS = ['UNENGAGED_MARKETABLE', 'SINGLE_OPT_IN', 'DOUBLE_OPT_IN', 'CONFIRMED', 'UNENGAGED_NON_MARKETABLE', 'NON_MARKETABLE', 'LOCKDOWN', 'BOUNCE', 'HARD_BOUNCE', 'MANUAL', 'ADMIN', 'SYSTEM', 'LIST_UNSUBSCRIBE', 'FEEDBACK', 'SPAM', 'INVALID', 'DEACTIVATED'] as const;
const OPTED_IN = new Set(['SINGLE_OPT_IN', 'DOUBLE_OPT_IN', 'CONFIRMED', 'UNENGAGED_MARKETABLE']);
const SOCIAL = ['SOCIAL_ACCOUNT_TYPE_UNSPECIFIED', 'FACEBOOK', 'LINKED_IN', 'TWITTER', 'INSTAGRAM', 'SNAPCHAT', 'YOUTUBE', 'PINTEREST'] as const;
const PHONE_TYPES = ['Work', 'Mobile', 'Home', 'Other', 'Fax'];
const LOCALES = ['en_US', 'en_GB', 'es_MX', 'fr_CA', 'de_DE', 'ja_JP', 'pt_BR'];
const TIME_ZONES = ['America/Phoenix', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Europe/London', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney', 'America/Sao_Paulo'];
interface Place {
  locality: string;
  region: string;
  region_code: string;
  country: string;
  country_code: string;
  postal: string;
}
const PLACES: Place[] = [
  { locality: 'Mesa', region: 'Arizona', region_code: 'US-AZ', country: 'United States', country_code: 'USA', postal: '85201' },
  { locality: 'Chandler', region: 'Arizona', region_code: 'US-AZ', country: 'United States', country_code: 'USA', postal: '85224' },
  { locality: 'Phoenix', region: 'Arizona', region_code: 'US-AZ', country: 'United States', country_code: 'USA', postal: '85012' },
  { locality: 'Austin', region: 'Texas', region_code: 'US-TX', country: 'United States', country_code: 'USA', postal: '73301' },
  { locality: 'Brooklyn', region: 'New York', region_code: 'US-NY', country: 'United States', country_code: 'USA', postal: '11201' },
  { locality: 'Coeur d\'Alene', region: 'Idaho', region_code: 'US-ID', country: 'United States', country_code: 'USA', postal: '83814' },
  { locality: 'Montréal', region: 'Québec', region_code: 'CA-QC', country: 'Canada', country_code: 'CAN', postal: 'H2X 1Y4' },
  { locality: 'London', region: 'England', region_code: 'GB-ENG', country: 'United Kingdom', country_code: 'GBR', postal: 'SW1A 1AA' },
  { locality: 'München', region: 'Bayern', region_code: 'DE-BY', country: 'Germany', country_code: 'DEU', postal: '80331' },
  { locality: '東京', region: '東京都', region_code: 'JP-13', country: 'Japan', country_code: 'JPN', postal: '100-0001' },
  { locality: 'São Paulo', region: 'São Paulo', region_code: 'BR-SP', country: 'Brazil', country_code: 'BRA', postal: '01000-000' },
  { locality: 'Zürich', region: 'Zürich', region_code: 'CH-ZH', country: 'Switzerland', country_code: 'CHE', postal: '8001' },
];
const STREETS = ['W Main St', 'E Camelback Rd', 'Oak Ave', 'Rue Sainte-Catherine', 'Baker Street', 'Maximilianstraße', '1-2 丸の内', "King's Road", 'Av. Paulista', 'Elm "North" Blvd'];
const COMPANY_A = ['Sunrise', 'Desert Bloom', 'Blue Ridge', 'Northwind', 'Acme', 'Summit', 'Harbor', 'Evergreen', 'Pioneer', 'Redwood', 'Silver Lake', 'Golden Gate'];
const COMPANY_B = ['Dental Group', 'Florists', 'Consulting', 'Fitness', 'Bakery', 'Landscaping', 'Law Office', 'Realty', 'Coaching', 'Plumbing', 'Studio', 'Academy'];
const COMPANY_NASTY = ['Ça Va Café', '株式会社 山田商事', "O'Reilly & Sons", '"Quoted" Holdings, Inc.', '🍕 Pizza Planet', 'Müller GmbH & Co. KG', 'Łódź Software Sp. z o.o.', 'Ñandú S.A.', 'A', 'Smith\\Jones LLP'];
const TAG_WORDS = ['Customer - Active', 'Newsletter', 'Webinar Attendee', 'VIP ⭐', 'Lead – Webinar \'Q3\'', 'Cold', 'Warm', 'Hot', 'Referral', 'Abandoned Cart', 'Trial', 'Churned', 'Purchased: "Starter"', '客户', 'Événement 2026', 'Do Not Email', 'Podcast', 'Affiliate', 'Workshop', 'Birthday Club'];
const TAG_CATEGORY_NAMES = ['Customer status', 'Lead source', 'Interests', 'Events', 'Products', 'Lifecycle', 'Nurture', 'Segments – EU', 'Internal', 'Campaign "X"'];
const NOTE_TYPES = ['Appointment', 'Call', 'Email', 'Fax', 'Letter', 'Other'];
const TASK_TYPES = ['Call', 'Email', 'Appointment', 'Fax', 'Letter', 'Other'];
const TASK_PRIORITY = ['CRITICAL', 'ESSENTIAL', 'NONESSENTIAL'] as const;
const REMIND = [5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880];
const ORDER_STATUS = ['DRAFT', 'SENT', 'VIEWED', 'PAID'] as const;
const ORDER_SOURCE = ['API', 'CHECKOUT_FORM', 'INVOICE', 'MANUAL_PAYMENT', 'QUICKBOOKS', 'UNKNOWN'] as const;
const ITEM_TYPES = ['PRODUCT', 'SHIPPING', 'TAX', 'SERVICE', 'UPSELL', 'FINANCE_CHARGE', 'DISCOUNT', 'PROGRAM', 'SUBSCRIPTION', 'DISCOUNT_FREE_TRIAL', 'DISCOUNT_ORDER_TOTAL', 'DISCOUNT_PRODUCT', 'DISCOUNT_PRODUCT_CATEGORY', 'DISCOUNT_SHIPPING', 'TIP', 'OTHER', 'FEE', 'UNKNOWN'] as const;
const PLAN_ITEM_STATUS = ['UNPAID_MANUAL', 'UNPAID_AUTOCHARGE', 'PAID', 'FAILED'] as const;
const PRODUCT_CYCLE = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
const CHAR_CLASS = ['LETTER', 'NUMBER', 'BOTH'] as const;
const SUB_CYCLE = ['YEAR', 'MONTH', 'WEEK', 'DAY'] as const;
const USER_STATUS = ['ACTIVE', 'INVITED', 'INACTIVE', 'NOT_A_USER'] as const;
/** [code, symbol, ISO 4217 minor unit]; JPY (0) and BHD (3) keep the minor-unit scaling honest. */
const CURRENCIES: Array<[string, string, number?]> = [
  ['USD', '$'],
  ['USD', '$'],
  ['USD', '$'],
  ['EUR', '€'],
  ['GBP', '£'],
  ['CAD', 'CA$'],
  ['JPY', '¥', 0],
  ['BHD', 'BD ', 3],
];
const PRODUCT_WORDS = ['Practice Suite', 'Website add-on', 'Coaching Session', 'Starter Plan', 'Pro Plan', 'T-Shirt', 'Mug ☕', 'E-book: "Growth"', 'Workshop Ticket', 'Gift Card', 'Consultation (60 min)', 'Crème Brûlée Kit', 'ヨガマット', "Owner's Manual"];
const STAGES = [
  { name: 'New Lead', probability: 10, days: 3 },
  { name: 'Qualified', probability: 20, days: 5 },
  { name: 'Needs Analysis', probability: 35, days: 7 },
  { name: 'Proposal Sent', probability: 60, days: 10 },
  { name: 'Negotiation – "final"', probability: 75, days: 7 },
  { name: 'Verbal Yes', probability: 90, days: 3 },
  { name: 'Won', probability: 100, days: 0 },
  { name: 'Lost', probability: 0, days: 0 },
];
const LINK_TYPES = [
  { id: '1', name: 'Spouse' },
  { id: '2', name: 'Business partner' },
  { id: '3', name: "Assistant – 'primary'" },
];
export const LEAD_SOURCES: Array<{ id: string; name: string }> = [
  { id: '17', name: 'Google Ads' },
  { id: '18', name: 'Facebook' },
  { id: '19', name: 'Referral' },
  { id: '20', name: 'Web Form' },
  { id: '21', name: 'Trade Show – Berlin' },
  { id: '22', name: "Partner's Newsletter" },
];

// ---------------------------------------------------------------------------------------------
// Custom field models (one per record type; tasks and notes share TASK_NOTE_APPOINTMENT).

export const FIELD_TYPES = ['CURRENCY', 'DATE', 'DATE_TIME', 'DAY_OF_WEEK', 'DECIMAL_NUMBER', 'DRILLDOWN', 'DROPDOWN', 'EMAIL', 'LIST_BOX', 'MONTH', 'NAME', 'PERCENT', 'PHONE_NUMBER', 'RADIO', 'SOCIAL_SECURITY_NUMBER', 'STATE', 'TEXT', 'TEXT_AREA', 'USER', 'USER_LIST_BOX', 'WEBSITE', 'WHOLE_NUMBER', 'YEAR', 'YES_NO'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface CustomFieldMeta {
  id: string;
  label: string;
  options: Array<{ id: string; label: string }>;
  record_type: string;
  field_type: FieldType;
  default_value?: string;
  group_id: string;
  group_name: string;
  field_name: string;
}

/** The 65,535-character maximum Keap allows in a text custom field. */
export const MAX_CUSTOM_TEXT = 65535;

const OPTION_LABELS = ['Red', 'Blue', 'Green', 'Ünïcödé', '日本', "Can't say", '"Other"'];

function fieldsFor(recordType: string, firstId: number, types: readonly FieldType[], prefix: string): CustomFieldMeta[] {
  return types.map((t, i) => {
    const id = String(firstId + i * 2);
    const hasOptions = t === 'DROPDOWN' || t === 'RADIO' || t === 'LIST_BOX' || t === 'DRILLDOWN';
    const label = `${prefix} ${t.toLowerCase().replace(/_/g, ' ')}`;
    const meta: CustomFieldMeta = {
      id,
      label: i === 0 ? `${label} – “quoted” ✓` : label,
      options: hasOptions ? OPTION_LABELS.map((l, j) => ({ id: `${id}${j + 1}`, label: l })) : [],
      record_type: recordType,
      field_type: t,
      group_id: String(1 + (i % 3)),
      group_name: ['Profile', 'Billing', 'Other'][i % 3] as string,
      field_name: `${prefix}${t.replace(/_/g, '').toLowerCase().replace(/^./, (c) => c.toUpperCase())}${i}`,
    };
    if (t === 'TEXT' || t === 'DROPDOWN') meta.default_value = t === 'TEXT' ? 'n/a' : 'Blue';
    return meta;
  });
}

export type ModelEntity = 'contacts' | 'companies' | 'opportunities' | 'orders' | 'subscriptions' | 'notes' | 'tasks';

export function customFieldModels(): Record<ModelEntity, CustomFieldMeta[]> {
  const contact = fieldsFor('CONTACT', 6, [...FIELD_TYPES, 'TEXT_AREA'], 'Cf');
  const tna = fieldsFor('TASK_NOTE_APPOINTMENT', 90, ['TEXT', 'DROPDOWN', 'WHOLE_NUMBER', 'DATE_TIME'], 'Tn');
  return {
    contacts: contact,
    companies: fieldsFor('COMPANY', 40, ['TEXT', 'WHOLE_NUMBER', 'DATE', 'YES_NO'], 'Co'),
    opportunities: fieldsFor('OPPORTUNITY', 61, ['TEXT', 'CURRENCY', 'DATE_TIME'], 'Op'),
    orders: fieldsFor('ORDER', 70, ['TEXT', 'DECIMAL_NUMBER'], 'Or'),
    subscriptions: fieldsFor('SUBSCRIPTION', 80, ['TEXT', 'WHOLE_NUMBER'], 'Su'),
    notes: tna,
    tasks: tna,
  };
}

const LONG_TEXT_UNIT = 'Lorem ipsum “dolor” sit amet – café ñ 日本語 ';
const longTexts = new Map<number, string>();
function longText(len: number): string {
  let v = longTexts.get(len);
  if (v === undefined) longTexts.set(len, (v = LONG_TEXT_UNIT.repeat(Math.ceil(len / LONG_TEXT_UNIT.length)).slice(0, len)));
  return v;
}

function contentFor(meta: CustomFieldMeta, r: Rng, anchor: number, userIds: () => string, longField: boolean): unknown {
  switch (meta.field_type) {
    case 'CURRENCY':
      return Math.round(r.next() * 500000) / 100;
    case 'DATE':
      return isoDate(anchor - r.int(3000) * 86_400_000);
    case 'DATE_TIME':
      return iso(anchor - r.int(3000 * 86_400) * 1000 - r.int(1000));
    case 'DAY_OF_WEEK':
      return r.range(1, 7);
    case 'DECIMAL_NUMBER':
      return Math.round((r.next() - 0.3) * 1e6) / 1000;
    case 'PERCENT':
      return r.int(101);
    case 'MONTH':
      return r.range(1, 12);
    case 'YEAR':
      return r.range(1950, 2030);
    case 'WHOLE_NUMBER':
      return r.range(-5, 250);
    case 'YES_NO':
      return r.chance(0.5);
    case 'DROPDOWN':
    case 'RADIO':
    case 'DRILLDOWN':
      return r.pick(meta.options).label;
    case 'LIST_BOX':
      return [r.pick(meta.options).label, r.pick(meta.options).label].filter((v, i, a) => a.indexOf(v) === i).join(',');
    case 'USER':
      return Number(userIds());
    case 'USER_LIST_BOX':
      return [userIds(), userIds()].join(',');
    case 'EMAIL':
      return `cf.${r.int(99999)}@example.org`;
    case 'PHONE_NUMBER':
      return `(480) 555-0${r.range(100, 199)}`;
    case 'SOCIAL_SECURITY_NUMBER':
      return `900-${r.range(10, 99)}-${r.range(1000, 9999)}`;
    case 'STATE':
      return r.pick(['AZ', 'TX', 'NY', 'QC', 'BY']);
    case 'WEBSITE':
      return `https://example.org/${r.int(1000)}?q=a&b="c"`;
    case 'NAME':
      return r.pick(ALL_GIVEN);
    case 'TEXT':
      return r.pick(['Front desk lead', "Owner's pick", 'Ünïcödé ✓', '引用 "quoted"', 'a;b,c==d', '']);
    case 'TEXT_AREA':
      return longField ? longText(MAX_CUSTOM_TEXT) : `Line one\nLine two with "quotes" and emoji 🎉\r\n\ttabbed`;
  }
}

// ---------------------------------------------------------------------------------------------

function money(amountMinor: number, cur: [string, string, number?]): Rec {
  const neg = amountMinor < 0;
  const abs = Math.abs(amountMinor);
  const digits = cur[2] ?? 2;
  const unit = 10 ** digits;
  const major = Math.floor(abs / unit)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return {
    amount: amountMinor,
    currency_code: cur[0],
    formatted_amount: `${cur[1]}${neg ? '-' : ''}${major}${digits > 0 ? `.${String(abs % unit).padStart(digits, '0')}` : ''}`,
  };
}

const slugCache = new Map<string, string>();
/** ASCII local-part from a name; cached because NFKD normalisation is costly and names repeat. */
function slug(s: string): string {
  let v = slugCache.get(s);
  if (v === undefined) {
    v = s
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9]+/g, '')
      .toLowerCase();
    if (slugCache.size < 10000) slugCache.set(s, v);
  }
  return v;
}

/** Cached derived values that several generators share. */
export class TenantGenerator {
  readonly models = customFieldModels();
  readonly userIdCache: string[];
  constructor(readonly shape: TenantShape) {
    this.userIdCache = Array.from({ length: shape.counts.users }, (_, k) => String(idOf(shape, 'users', k)));
  }

  private h(e: EntityName | number, k: number, salt: number): number {
    return hash4(this.shape.seed, typeof e === 'number' ? e : CODE[e], k, salt);
  }
  private u(e: EntityName | number, k: number, salt: number): number {
    return unit(this.h(e, k, salt));
  }
  private put(o: Rec, key: string, v: unknown): void {
    if (v !== undefined) o[key] = v;
    else if (this.shape.nulls) o[key] = null;
  }
  private randomUser(r: Rng): string {
    return r.pick(this.userIdCache);
  }
  id(e: EntityName, k: number): number {
    return idOf(this.shape, e, k);
  }
  count(e: EntityName): number {
    return this.shape.counts[e];
  }

  /** Creation time rises with k (ids are sequential in Keap), with jitter inside the k's slot. */
  createMs(e: EntityName, k: number): number {
    const n = Math.max(1, this.count(e));
    const span = this.shape.anchor - 3_600_000 - this.shape.t0;
    const slot = span / n;
    return Math.floor(this.shape.t0 + k * slot + this.u(e, k, 1) * slot * 0.9);
  }

  /** Base "last updated" time: a quarter never touched after creation, the rest skewed recent. */
  updateMs(e: EntityName, k: number): number {
    const c = this.createMs(e, k);
    if (APPEND_ONLY.has(e)) return c;
    const a = this.u(e, k, 2);
    if (a < 0.25) return c + Math.floor(this.u(e, k, 3) * 900);
    const b = this.u(e, k, 3);
    return Math.floor(c + (this.shape.anchor - 1 - c) * (1 - b * b));
  }

  // --- contacts -----------------------------------------------------------------------------

  contactBasics(k: number): { given?: string; family?: string; email?: string } {
    const h = this.h('contacts', k, 10);
    const nasty = h % 7 === 0;
    const given = h % 41 === 3 ? undefined : nasty ? GIVEN_NASTY[(h >>> 8) % GIVEN_NASTY.length] : GIVEN[(h >>> 8) % GIVEN.length];
    const h2 = this.h('contacts', k, 11);
    const family = h2 % 37 === 5 ? undefined : h2 % 6 === 0 ? FAMILY_NASTY[(h2 >>> 8) % FAMILY_NASTY.length] : FAMILY[(h2 >>> 8) % FAMILY.length];
    const id = this.id('contacts', k);
    const hasEmail = h2 % 19 !== 7;
    let email: string | undefined;
    if (hasEmail) {
      const local = `${slug(given ?? '') || 'user'}.${slug(family ?? '') || 'x'}${id}`;
      const variant = (h2 >>> 16) % 10;
      email = variant === 0 ? `${local}+news@mail.example` : variant === 1 ? `${local.toUpperCase()}@Example.COM` : variant === 2 ? `${local}@sub.domain.example.co.uk` : `${local}@example.com`;
    }
    return { given, family, email };
  }

  contactTagLinks(k: number): Array<[number, number]> {
    const nTags = this.count('tags');
    if (nTags === 0) return [];
    const h = this.h(LINKS, k, 1);
    const r0 = h % 100;
    const n = r0 < 20 ? 0 : r0 < 45 ? 1 : r0 < 65 ? 2 : r0 < 80 ? 3 : r0 < 90 ? 4 : r0 < 97 ? 6 : 9;
    if (n === 0) return [];
    const c = this.createMs('contacts', k);
    const up = this.updateMs('contacts', k);
    const out: Array<[number, number]> = [];
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const u = this.u(LINKS, k, 10 + i);
      const ti = Math.floor(nTags * u * u);
      if (seen.has(ti)) continue;
      seen.add(ti);
      const applied = Math.floor(c + (up - c) * this.u(LINKS, k, 40 + i));
      out.push([this.id('tags', ti), applied]);
    }
    out.sort((a, b) => a[0] - b[0]);
    return out;
  }

  contactCompanyK(k: number): number {
    const h = this.h('contacts', k, 12);
    if (h % 10 >= 4 || this.count('companies') === 0) return -1;
    return (h >>> 4) % this.count('companies');
  }

  address(r: Rng, field: string, full: boolean): Rec {
    const p = r.pick(PLACES);
    const a: Rec = { field, line1: `${r.range(1, 9999)} ${r.pick(STREETS)}` };
    if (full && r.chance(0.4)) a.line2 = r.pick(['Suite 4', 'Apt. 12B', 'c/o "Front Desk"', '2º piso']);
    a.locality = p.locality;
    if (r.chance(0.7)) a.region = p.region;
    a.region_code = p.region_code;
    if (r.chance(0.6)) a.country = p.country;
    a.country_code = p.country_code;
    a.postal_code = p.postal;
    if (p.country_code === 'USA') {
      a.zip_code = p.postal;
      if (r.chance(0.5)) a.zip_four = String(r.range(1000, 9999));
    }
    return a;
  }

  phone(r: Rng, field: string): Rec {
    const area = r.pick(['480', '602', '212', '512', '415']);
    const line = String(r.range(100, 199)).padStart(4, '0');
    const p: Rec = { number: r.chance(0.8) ? `(${area}) 555-${line}` : `+1 ${area}.555.${line}`, type: r.pick(PHONE_TYPES), field, number_e164: `+1${area}555${line}` };
    if (r.chance(0.2)) p.extension = String(r.range(1, 999));
    return p;
  }

  emailEntry(email: string, field: string, status: string, r: Rng): Rec {
    const e: Rec = { email, field, is_opt_in: OPTED_IN.has(status), email_opt_status: status };
    this.put(e, 'opt_in_reason', OPTED_IN.has(status) ? r.pick(['Web form: Newsletter signup', 'Imported with consent', 'API opt-in', "Customer's request"]) : undefined);
    return e;
  }

  customFields(model: CustomFieldMeta[], r: Rng, fill: number, longFieldIndex: number): Rec[] {
    return model.map((m, i) => ({
      id: m.id,
      content: r.chance(fill) || i === longFieldIndex ? contentFor(m, r, this.shape.anchor, () => this.randomUser(r), i === longFieldIndex) : null,
    }));
  }

  contact(k: number): Rec {
    const id = this.id('contacts', k);
    const r = new Rng(this.h('contacts', k, 0));
    const b = this.contactBasics(k);
    const createMs = this.createMs('contacts', k);
    const updateMs = this.updateMs('contacts', k);
    const c: Rec = { id: String(id) };
    this.put(c, 'given_name', b.given);
    this.put(c, 'middle_name', r.chance(0.2) ? r.pick(MIDDLE) : undefined);
    this.put(c, 'family_name', b.family);
    this.put(c, 'preferred_name', r.chance(0.1) ? b.given : undefined);
    this.put(c, 'prefix', r.chance(0.15) ? r.pick(PREFIX) : undefined);
    this.put(c, 'suffix', r.chance(0.05) ? r.pick(SUFFIX) : undefined);
    this.put(c, 'job_title', r.chance(0.5) ? r.pick(JOBS) : undefined);
    const ck = this.contactCompanyK(k);
    if (ck >= 0) c.company = { id: String(this.id('companies', ck)), company_name: this.companyName(ck) };
    else this.put(c, 'company', undefined);
    const emails: Rec[] = [];
    const statusBase = (k * 7) % EMAIL_OPT_STATUS.length;
    if (b.email) {
      emails.push(this.emailEntry(b.email, k % 211 === 13 ? 'EMAIL_FIELD_UNSPECIFIED' : 'EMAIL1', EMAIL_OPT_STATUS[statusBase] as string, r));
      if (r.chance(0.2)) emails.push(this.emailEntry(`alt${id}@mail.example`, 'EMAIL2', EMAIL_OPT_STATUS[(statusBase + 3) % 17] as string, r));
      if (r.chance(0.05)) emails.push(this.emailEntry(`third.${id}@work.example`, 'EMAIL3', EMAIL_OPT_STATUS[(statusBase + 9) % 17] as string, r));
    }
    c.email_addresses = emails;
    const phones: Rec[] = [];
    const nPhones = r.chance(0.35) ? 0 : r.range(1, k % 97 === 1 ? 5 : 2);
    for (let i = 0; i < nPhones; i++) phones.push(this.phone(r, k % 199 === 3 && i === 0 ? 'PHONE_NUMBER_FIELD_UNSPECIFIED' : `PHONE${i + 1}`));
    c.phone_numbers = phones;
    const faxes: Rec[] = [];
    if (r.chance(0.08)) faxes.push({ number: `(480) 555-01${r.range(10, 99)}`, type: 'Work', field: k % 5 === 0 ? 'FAX2' : k % 7 === 0 ? 'FAX_NUMBER_FIELD_UNSPECIFIED' : 'FAX1' });
    c.fax_numbers = faxes;
    const addresses: Rec[] = [];
    if (r.chance(0.6)) addresses.push(this.address(r, k % 173 === 2 ? 'ADDRESS_FIELD_UNSPECIFIED' : 'BILLING', true));
    if (r.chance(0.2)) addresses.push(this.address(r, 'SHIPPING', true));
    if (r.chance(0.05)) addresses.push(this.address(r, 'OTHER', false));
    c.addresses = addresses;
    const social: Rec[] = [];
    if (r.chance(0.15)) social.push({ name: `handle_${id}`, type: SOCIAL[k % SOCIAL.length] });
    c.social_accounts = social;
    this.put(c, 'website', r.chance(0.2) ? `https://www.example.com/~${id}?ref="x"&a=1` : undefined);
    this.put(c, 'birth_date', r.chance(0.15) ? isoDate(Date.UTC(1950 + r.int(55), r.int(12), 1 + r.int(28))) : undefined);
    this.put(c, 'anniversary_date', r.chance(0.05) ? isoDate(Date.UTC(1990 + r.int(35), r.int(12), 1 + r.int(28))) : undefined);
    this.put(c, 'spouse_name', r.chance(0.05) ? r.pick(GIVEN) : undefined);
    this.put(c, 'contact_type', r.chance(0.8) ? CONTACT_TYPES[k % CONTACT_TYPES.length] : undefined);
    this.put(c, 'owner_id', r.chance(0.7) ? this.randomUser(r) : undefined);
    this.put(c, 'leadsource_id', r.chance(0.4) ? r.pick(LEAD_SOURCES).id : undefined);
    c.source_type = SOURCE_TYPES[k % SOURCE_TYPES.length];
    this.put(c, 'origin', r.chance(0.3) ? { date: iso(createMs), ip_address: `203.0.113.${r.int(255)}` } : undefined);
    this.put(c, 'preferred_locale', r.chance(0.5) ? r.pick(LOCALES) : undefined);
    this.put(c, 'time_zone', r.chance(0.5) ? r.pick(TIME_ZONES) : undefined);
    this.put(c, 'referral_code', r.chance(0.03) ? `REF-${id}` : undefined);
    this.put(c, 'score_value', r.chance(0.6) ? String(r.int(100)) : undefined);
    // tag_ids and groups are filled in from the live tag links by the store.
    c.custom_fields = this.customFields(this.models.contacts, r, 0.5, k % 500 === 7 ? this.models.contacts.length - 1 : -1);
    c.utm_parameters = r.chance(0.1)
      ? [
          {
            id: 88000 + id,
            keapSourceId: r.pick(LEAD_SOURCES).id,
            utmSource: r.pick(['google', 'facebook', 'newsletter']),
            utmMedium: 'cpc',
            utmTerm: 'dental software',
            utmCampaign: 'spring_promo',
            utmContent: 'ad_b',
            firstTouch: true,
            lastTouch: r.chance(0.5),
            dateCreated: iso(createMs),
          },
        ]
      : [];
    c.links = this.contactLinks(k);
    this.put(c, 'account_id', undefined);
    this.put(c, 'assistant_name', r.chance(0.02) ? 'Kim Lee' : undefined);
    this.put(c, 'assistant_phone', r.chance(0.02) ? '(480) 555-0102' : undefined);
    this.put(c, 'billing_information', r.chance(0.02) ? 'Net 30' : undefined);
    this.put(c, 'created_by', this.randomUser(r));
    this.put(c, 'last_updated_by', this.randomUser(r));
    c.create_time = iso(createMs);
    c.update_time = iso(updateMs);
    return c;
  }

  /**
   * Contact links are symmetric in Keap: pairs (k, k+1) with k % 74 == 5 are linked both ways
   * under one link id.
   */
  contactLinks(k: number): Rec[] {
    const n = this.count('contacts');
    const pairStart = k % 74 === 5 ? k : k % 74 === 6 ? k - 1 : -1;
    if (pairStart < 0 || pairStart + 1 >= n) return [];
    const other = k === pairStart ? pairStart + 1 : pairStart;
    const type = LINK_TYPES[Math.floor(pairStart / 74) % LINK_TYPES.length] as { id: string; name: string };
    return [{ id: String(300 + pairStart), linked_contact_id: String(this.id('contacts', other)), link_type_id: type.id, link_type_name: type.name }];
  }

  // --- companies ----------------------------------------------------------------------------

  companyName(k: number): string {
    const h = this.h('companies', k, 10);
    if (h % 9 === 0) return `${COMPANY_NASTY[(h >>> 8) % COMPANY_NASTY.length]} #${k}`;
    return `${COMPANY_A[(h >>> 8) % COMPANY_A.length]} ${COMPANY_B[(h >>> 16) % COMPANY_B.length]} ${k}`;
  }

  company(k: number): Rec {
    const id = this.id('companies', k);
    const r = new Rng(this.h('companies', k, 0));
    const co: Rec = { id: String(id), company_name: this.companyName(k) };
    const name = this.companyName(k);
    this.put(co, 'address', r.chance(0.7) ? this.address(r, 'BILLING', true) : undefined);
    this.put(co, 'notes', r.chance(0.3) ? 'Three locations; billing handled "centrally".\nSecond line – ñ' : undefined);
    this.put(co, 'website', r.chance(0.5) ? `https://${slug(name) || 'company'}.example` : undefined);
    this.put(co, 'suffix', undefined);
    this.put(co, 'title', r.chance(0.1) ? 'Dr.' : undefined);
    this.put(co, 'groups', undefined);
    co.custom_fields = this.customFields(this.models.companies, r, 0.6, -1);
    this.put(co, 'email_address', r.chance(0.8) ? this.emailEntry(`office${id}@${slug(name) || 'company'}.example`, 'EMAIL1', EMAIL_OPT_STATUS[k % 17] as string, r) : undefined);
    this.put(co, 'fax_number', r.chance(0.1) ? { number: '(480) 555-0101', type: 'Work', field: 'FAX1' } : undefined);
    this.put(co, 'phone_number', r.chance(0.7) ? this.phone(r, 'PHONE1') : undefined);
    this.put(co, 'first_name', r.chance(0.5) ? r.pick(GIVEN) : undefined);
    this.put(co, 'last_name', r.chance(0.5) ? r.pick(FAMILY) : undefined);
    this.put(co, 'job_title', r.chance(0.3) ? 'Owner' : undefined);
    this.put(co, 'contact_type', r.chance(0.5) ? 'Customer' : undefined);
    this.put(co, 'owner_id', r.chance(0.6) ? this.randomUser(r) : undefined);
    this.put(co, 'account_id', undefined);
    this.put(co, 'created_by', this.randomUser(r));
    this.put(co, 'last_updated_by', this.randomUser(r));
    co.create_time = iso(this.createMs('companies', k));
    co.update_time = iso(this.updateMs('companies', k));
    return co;
  }

  // --- tags ---------------------------------------------------------------------------------

  tagCategory(k: number): Rec {
    const base = TAG_CATEGORY_NAMES[k % TAG_CATEGORY_NAMES.length] as string;
    const c: Rec = { id: String(this.id('tag_categories', k)), name: k < TAG_CATEGORY_NAMES.length ? base : `${base} ${Math.floor(k / TAG_CATEGORY_NAMES.length) + 1}` };
    if (k % 3 !== 2) c.description = k % 3 === 0 ? 'Lifecycle tags' : 'Tags grouped for "segments" – ünïcödé';
    c.create_time = iso(this.createMs('tag_categories', k));
    c.update_time = iso(this.updateMs('tag_categories', k));
    return c;
  }

  tag(k: number): Rec {
    const base = TAG_WORDS[k % TAG_WORDS.length] as string;
    const t: Rec = { id: String(this.id('tags', k)), name: k < TAG_WORDS.length ? base : `${base} ${Math.floor(k / TAG_WORDS.length) + 1}` };
    const h = this.h('tags', k, 1);
    if (h % 4 !== 0) t.description = h % 4 === 1 ? 'Has at least one paid order in the last 12 months' : `Tag #${k} – “smart quotes”`;
    if (h % 5 !== 0 && this.count('tag_categories') > 0) t.category = { id: String(this.id('tag_categories', (h >>> 8) % this.count('tag_categories'))) };
    t.create_time = iso(this.createMs('tags', k));
    t.update_time = iso(this.updateMs('tags', k));
    return t;
  }

  // --- users --------------------------------------------------------------------------------

  user(k: number): Rec {
    const id = this.id('users', k);
    const r = new Rng(this.h('users', k, 0));
    const given = k === 0 ? 'Alex' : r.pick(k % 5 === 0 ? GIVEN_NASTY : GIVEN);
    const family = k === 0 ? 'Rivera' : r.pick(k % 4 === 0 ? FAMILY_NASTY : FAMILY);
    const email = `${slug(given) || 'user'}.${slug(family) || 'x'}${id}@vendor.example`;
    const status = k === 0 ? 'ACTIVE' : USER_STATUS[k % USER_STATUS.length];
    const u: Rec = { id: String(id), global_user_id: String(800100000 + id * 7), keap_id: email, given_name: given };
    this.put(u, 'middle_name', r.chance(0.2) ? r.pick(MIDDLE) : undefined);
    u.family_name = family;
    this.put(u, 'nickname', r.chance(0.3) ? given : undefined);
    this.put(u, 'suffix', undefined);
    this.put(u, 'spouse_name', undefined);
    this.put(u, 'title', r.chance(0.5) ? r.pick(JOBS) : undefined);
    u.company_name = 'Vendor Co';
    this.put(u, 'website', r.chance(0.3) ? 'https://vendor.example' : undefined);
    u.status = status;
    u.admin = k === 0 || k % 6 === 1;
    u.partner = k % 7 === 3;
    u.email_addresses = [this.emailEntry(email, 'EMAIL1', 'CONFIRMED', r)];
    u.phone_numbers = r.chance(0.6) ? [this.phone(r, 'PHONE1')] : [];
    u.fax_numbers = [];
    u.social_accounts = [];
    this.put(u, 'address', r.chance(0.5) ? this.address(r, 'OTHER', false) : undefined);
    u.created_by = 1;
    u.create_time = iso(this.createMs('users', k));
    u.updated_by = Number(this.userIdCache[0]);
    u.update_time = iso(this.updateMs('users', k));
    return u;
  }

  // --- products -----------------------------------------------------------------------------

  productPlans(k: number): Rec[] {
    const h = this.h('products', k, 5);
    if (h % 3 !== 0) return [];
    const pid = this.id('products', k);
    const cur = CURRENCIES[0] as [string, string];
    const n = 1 + (h >>> 4) % 2;
    return Array.from({ length: n }, (_, j) => ({
      id: String(pid * 10 + j + 1),
      active: j === 0 || (h >>> 8) % 2 === 0,
      prorate: j === 1,
      billing_cycle: PRODUCT_CYCLE[(k + j) % 4],
      billing_frequency: 1 + j,
      number_of_cycles: j === 0 ? 0 : 12,
      plan_price: money(999 + ((h >>> (j * 3)) % 50000), cur),
      order_index: j + 1,
    }));
  }

  productBasics(k: number): { id: number; name: string; sku: string; priceMinor: number; shippable: boolean; taxable: boolean } {
    const h = this.h('products', k, 1);
    const base = PRODUCT_WORDS[k % PRODUCT_WORDS.length] as string;
    return {
      id: this.id('products', k),
      name: k < PRODUCT_WORDS.length ? base : `${base} v${Math.floor(k / PRODUCT_WORDS.length) + 1}`,
      sku: `SKU-${(h % 100000).toString(36).toUpperCase()}-${k}`,
      priceMinor: 500 + (h >>> 8) % 200000,
      shippable: h % 4 === 0,
      taxable: h % 3 !== 0,
    };
  }

  product(k: number): Rec {
    const r = new Rng(this.h('products', k, 0));
    const b = this.productBasics(k);
    const cur = CURRENCIES[0] as [string, string];
    const p: Rec = { id: String(b.id), name: b.name, sku: b.sku, active: k % 9 !== 4 };
    this.put(p, 'description', r.chance(0.6) ? '<p>Scheduling, billing &amp; reminders – “all in one”.</p>' : undefined);
    this.put(p, 'short_description', r.chance(0.7) ? 'Scheduling + billing suite' : undefined);
    p.price = money(b.priceMinor, cur);
    p.shippable = b.shippable;
    p.weight = b.shippable ? Math.round(r.next() * 5000) / 100 : 0;
    p.taxable = b.taxable;
    p.country_taxable = r.chance(0.3);
    p.state_taxable = r.chance(0.5);
    p.city_taxable = r.chance(0.2);
    p.categories = r.chance(0.5) ? [String(10 + r.int(5))] : [];
    p.options =
      k % 4 === 0
        ? [
            { name: 'Seats', type: 'FIXED', required: true, fixed_options: [{ value: 'Up to 5', code: 'S5', price_adjustment: 0 }, { value: 'Up to 20', code: 'S20', price_adjustment: 300 }] },
            { name: 'Practice name', type: 'VARIABLE', required: false, fixed_options: [], variable_setting: { contains: CHAR_CLASS[(k / 4) % 3], min_chars: 2, max_chars: 60, contain_spaces: true, start_with: CHAR_CLASS[(k / 4 + 1) % 3], end_with: CHAR_CLASS[(k / 4 + 2) % 3], validation_msg: 'Letters and numbers only' } },
          ]
        : [];
    if (r.chance(0.4)) p.inventory = { inventory_limit: r.int(500), out_of_stock_enabled: r.chance(0.5) };
    p.subscription_only = k % 11 === 5;
    p.storefront_hidden = r.chance(0.2);
    p.subscription_plans = this.productPlans(k);
    this.put(p, 'top_html', undefined);
    this.put(p, 'bottom_html', undefined);
    p.is_package = false;
    p.needs_digital_delivery = r.chance(0.1);
    p.has_legacy_image = false;
    p.create_time = iso(this.createMs('products', k));
    p.update_time = iso(this.updateMs('products', k));
    return p;
  }

  // --- opportunities and stages -------------------------------------------------------------

  stageChecklist(k: number): Array<{ id: number; description: string; required: boolean; order: number }> {
    if (k % 2 === 1) return [];
    return [
      { id: 50 + k * 3, description: 'Send pricing PDF', required: true, order: 1 },
      { id: 51 + k * 3, description: 'Confirm “decision maker”', required: false, order: 2 },
    ];
  }

  stage(k: number): Rec {
    const s = STAGES[k % STAGES.length] as (typeof STAGES)[number];
    return {
      id: String(this.id('stages', k)),
      name: s.name,
      order: k + 1,
      target_number_days: s.days,
      probability: s.probability,
      created_time: iso(this.createMs('stages', k)),
      updated_time: iso(this.updateMs('stages', k)),
      checklist_items: this.stageChecklist(k).map((c) => ({ id: String(c.id), description: c.description, required: c.required, order: c.order })),
    };
  }

  private randomContactK(r: Rng): number {
    return r.int(Math.max(1, this.count('contacts')));
  }

  basicContact(ck: number): Rec {
    const b = this.contactBasics(ck);
    const o: Rec = { id: String(this.id('contacts', ck)) };
    this.put(o, 'email', b.email);
    this.put(o, 'given_name', b.given);
    this.put(o, 'family_name', b.family);
    return o;
  }

  opportunity(k: number): Rec {
    const r = new Rng(this.h('opportunities', k, 0));
    const ck = this.randomContactK(r);
    const b = this.contactBasics(ck);
    const contact: Rec = { id: String(this.id('contacts', ck)) };
    this.put(contact, 'email', b.email);
    this.put(contact, 'first_name', b.given);
    this.put(contact, 'last_name', b.family);
    if (r.chance(0.5)) {
      const p = r.pick(PLACES);
      contact.city = p.locality;
      contact.state = p.region_code.slice(3);
    }
    this.put(contact, 'phone_number', r.chance(0.5) ? '(480) 555-0142' : undefined);
    const sk = k % STAGES.length;
    const s = STAGES[sk] as (typeof STAGES)[number];
    const created = this.createMs('opportunities', k);
    const updated = this.updateMs('opportunities', k);
    const o: Rec = {
      id: String(this.id('opportunities', k)),
      opportunity_title: r.pick(['Annual plan', '3 site rollout', 'Website add-on', 'Réservation – “VIP”', '見積もり', "Owner's upgrade"]) + ` #${k}`,
      contact,
      stage: {
        id: String(this.id('stages', sk)),
        name: s.name,
        details: {
          probability: s.probability,
          stage_order: sk + 1,
          target_num_days: s.days,
          checklist_items: this.stageChecklist(sk).map((c, i) => {
            const it: Rec = { id: c.id, description: c.description, required: c.required, instance_id: 9900 + k * 2 + i, item_order: c.order };
            if (r.chance(0.5)) it.done_date = iso(updated);
            return it;
          }),
        },
        reasons: sk === 7 ? ['Price', 'Went with a competitor'] : [],
      },
      user: (() => {
        const b = this.basicUser(k % this.userIdCache.length);
        return { id: b.id, first_name: b.given_name, last_name: b.family_name };
      })(),
    };
    this.put(o, 'next_action_time', r.chance(0.5) ? iso(updated + r.int(30) * 86_400_000) : undefined);
    this.put(o, 'next_action_notes', r.chance(0.4) ? 'Follow-up call with owner' : undefined);
    this.put(o, 'opportunity_notes', r.chance(0.4) ? 'Wants go-live before Q4.\n“Budget approved”' : undefined);
    this.put(o, 'estimated_close_time', r.chance(0.6) ? iso(updated + r.int(90) * 86_400_000) : undefined);
    o.include_in_forecast = r.chance(0.6);
    const lo = Math.round(r.next() * 10000 * 100) / 100;
    o.projected_revenue_low = lo;
    o.projected_revenue_high = Math.round((lo + r.next() * 5000) * 100) / 100;
    o.custom_fields = this.customFields(this.models.opportunities, r, 0.5, -1);
    this.put(o, 'affiliate_id', r.chance(0.1) ? String(20 + r.int(5)) : undefined);
    this.put(o, 'lead_source', r.chance(0.5) ? r.pick(LEAD_SOURCES).name : undefined);
    o.status_id = String(1 + (k % 3));
    o.created_by = this.randomUser(r);
    o.last_updated_by = this.randomUser(r);
    o.created_time = iso(created);
    o.last_updated_time = iso(updated);
    return o;
  }

  // --- orders -------------------------------------------------------------------------------

  order(k: number): Rec {
    const id = this.id('orders', k);
    const r = new Rng(this.h('orders', k, 0));
    const cur = CURRENCIES[k % CURRENCIES.length] as [string, string, number?];
    const ck = this.randomContactK(r);
    const created = this.createMs('orders', k);
    const modified = this.updateMs('orders', k);
    const nItems = k % 13 === 6 ? 0 : r.range(1, 4);
    const items: Rec[] = [];
    let total = 0;
    for (let i = 0; i < nItems; i++) {
      const type = i === 0 ? (ITEM_TYPES[k % ITEM_TYPES.length] as string) : r.pick(['PRODUCT', 'SHIPPING', 'TAX', 'DISCOUNT_PRODUCT'] as const);
      const pk = r.int(Math.max(1, this.count('products')));
      const pb = this.productBasics(pk);
      const isDiscount = type.startsWith('DISCOUNT');
      const qty = isDiscount ? 1 : r.range(1, 5);
      // Every 50th order holds a line worth 1e15 minor units (exact only as bigint, never as a double of cents).
      const price = isDiscount ? -Math.round(pb.priceMinor / 10) : k % 50 === 21 && i === 0 ? 1e15 : pb.priceMinor;
      total += price * qty;
      const it: Rec = { id: String(id * 10 + i + 1), name: isDiscount ? `${pb.name} – 10% off` : pb.name, quantity: qty, item_type: type };
      this.put(it, 'description', r.chance(0.5) ? 'Line item “description”' : undefined);
      this.put(it, 'notes', r.chance(0.1) ? 'Gift wrap, please' : undefined);
      if (!isDiscount && type !== 'TAX' && type !== 'SHIPPING') it.product = { id: String(pb.id), name: pb.name, sku: pb.sku, description: 'Product description', shippable: pb.shippable, taxable: pb.taxable };
      it.price_per_unit = money(price, cur);
      it.cost_per_unit = money(0, cur);
      if (isDiscount) {
        it.discount = money(-price, cur);
        it.special = { amount: 10, special_item_id: String(15 + i), discount_method: (k + i) % 2 === 0 ? 'PERCENT' : 'AMOUNT' };
      }
      if (type === 'SUBSCRIPTION') {
        it.subscription_id = String(3000 + r.int(1000));
        it.subscription_plan = { id: String(pb.id * 10 + 1), subscription_plan_name: 'Annual', frequency: 1, cycle_type: ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY'][Math.floor(k / ITEM_TYPES.length) % 4], total_cycles: 0, active: true, plan_price: money(price, cur), display_order_index: 1 };
      }
      items.push(it);
    }
    const status = ORDER_STATUS[k % ORDER_STATUS.length] as string;
    const paid = status === 'PAID' ? total : status === 'SENT' && r.chance(0.3) ? Math.floor(total / 2) : 0;
    const o: Rec = {
      id: String(id),
      title: r.pick(['Annual plan', 'Web order', 'Invoice', 'Réservation', 'カート', "Owner's order", 'Order "rush"']) + ` ${id}`,
      status,
      order_type: k % 2 === 0 ? 'ONLINE' : 'OFFLINE',
      source_type: ORDER_SOURCE[k % ORDER_SOURCE.length],
      contact: this.basicContact(ck),
      total: money(total, cur),
      total_paid: money(paid, cur),
      total_due: money(total, cur),
      refund_total: money(0, cur),
    };
    this.put(o, 'notes', r.chance(0.2) ? 'Leave at the “back” door' : undefined);
    this.put(o, 'terms', r.chance(0.5) ? 'Due on receipt' : undefined);
    this.put(o, 'promo_code', r.chance(0.1) ? 'SPRING10' : undefined);
    this.put(o, 'lead_affiliate_id', r.chance(0.05) ? '21' : undefined);
    this.put(o, 'sales_affiliate_id', r.chance(0.05) ? '21' : undefined);
    if (r.chance(0.3)) {
      const cb = this.contactBasics(ck);
      const si: Rec = { id: String(8000 + k), address: this.address(r, 'SHIPPING', true), invoice_to_company: r.chance(0.3) };
      this.put(si, 'given_name', cb.given);
      this.put(si, 'family_name', cb.family);
      this.put(si, 'company', r.chance(0.3) ? 'Sunrise Dental Group' : undefined);
      this.put(si, 'phone_number', r.chance(0.5) ? '(480) 555-0142' : undefined);
      o.shipping_information = si;
    }
    o.allow_payment = r.chance(0.8);
    o.allow_paypal = r.chance(0.3);
    o.order_items = items;
    if (k % 10 === 3 && total > 0) {
      const n = 3;
      const start = modified - 60 * 86_400_000;
      o.payment_plan = {
        auto_charge: true,
        max_charge_attempts: 3,
        days_between_retries: 2,
        payment_method_id: String(500 + r.int(100)),
        initial_payment_amount: money(Math.floor(total / n), cur),
        initial_payment_percent: 33.33,
        initial_payment_date: isoDate(start),
        plan_start_date: isoDate(start),
        number_of_payments: n,
        days_between_payments: 30,
        payment_plan_items: Array.from({ length: n }, (_, i) => ({
          status: PLAN_ITEM_STATUS[(k + i) % 4],
          due_date: isoDate(start + i * 30 * 86_400_000),
          amount_due: money(Math.floor(total / n), cur),
          amount_paid: money(i === 0 ? Math.floor(total / n) : 0, cur),
        })),
      };
    }
    o.files = k % 17 === 0 ? [{ file_id: String(7000 + k) }] : [];
    o.synced = r.chance(0.5);
    o.invoice_id = String(id + 100000);
    o.custom_fields = this.customFields(this.models.orders, r, 0.4, -1);
    o.order_time = iso(created - r.int(86_400) * 1000);
    o.creation_time = iso(created);
    o.modification_time = iso(modified);
    if (status !== 'DRAFT') o.sent_time = iso(created + 60_000);
    if (r.chance(0.5)) o.due_time = iso(created + 30 * 86_400_000);
    return o;
  }

  // --- subscriptions ------------------------------------------------------------------------

  subscription(k: number): Rec {
    const r = new Rng(this.h('subscriptions', k, 0));
    const ck = this.randomContactK(r);
    let pk = r.int(Math.max(1, this.count('products')));
    let plans = this.productPlans(pk);
    for (let tries = 0; plans.length === 0 && tries < 20; tries++) {
      pk = (pk + 1) % Math.max(1, this.count('products'));
      plans = this.productPlans(pk);
    }
    const plan = plans[0];
    const start = this.createMs('subscriptions', k);
    const modified = this.updateMs('subscriptions', k);
    const active = k % 4 !== 3;
    const s: Rec = {
      id: String(this.id('subscriptions', k)),
      contact_id: String(this.id('contacts', ck)),
      product_id: String(this.id('products', pk)),
      quantity: r.range(1, 3),
      active,
      billing_amount: Math.round(r.next() * 200000) / 100,
      auto_charge: r.chance(0.8),
      billing_frequency: 1,
      billing_cycle: SUB_CYCLE[k % 4],
      start_date: isoDate(start),
    };
    this.put(s, 'subscription_plan_id', plan ? (plan.id as string) : undefined);
    this.put(s, 'last_bill_date', r.chance(0.8) ? isoDate(modified) : undefined);
    this.put(s, 'next_bill_date', active ? isoDate(modified + 30 * 86_400_000) : undefined);
    this.put(s, 'end_date', active ? undefined : isoDate(modified));
    s.merchant_account_id = '2';
    this.put(s, 'payment_method_id', r.chance(0.8) ? String(400 + r.int(300)) : undefined);
    s.allow_tax = r.chance(0.5);
    s.max_charge_attempts = 3;
    s.days_between_retries = 2;
    this.put(s, 'lead_affiliate_id', undefined);
    this.put(s, 'sale_affiliate_id', r.chance(0.1) ? '21' : undefined);
    this.put(s, 'shipping_address', r.chance(0.3) ? this.address(r, 'SHIPPING', true) : undefined);
    this.put(s, 'promo_code', r.chance(0.1) ? 'SPRING10' : undefined);
    this.put(s, 'reason_stopped', active ? undefined : r.pick(['Cancelled by customer', "Card declined – 'insufficient funds'"]));
    s.custom_fields = this.customFields(this.models.subscriptions, r, 0.4, -1);
    s.modification_time = iso(modified);
    return s;
  }

  // --- notes and tasks ----------------------------------------------------------------------

  private basicUsers: Rec[] = [];
  /** BasicUser of generated user uk (cached: users are few and embedded in every note). */
  basicUser(uk: number): Rec {
    let b = this.basicUsers[uk];
    if (!b) {
      const u = this.user(uk);
      const emails = u.email_addresses as Rec[];
      b = this.basicUsers[uk] = { id: u.id, given_name: u.given_name, family_name: u.family_name, email_address: emails[0]?.email };
    }
    return { ...b };
  }

  note(k: number): Rec {
    const r = new Rng(this.h('notes', k, 0));
    const created = this.createMs('notes', k);
    const updated = this.updateMs('notes', k);
    const uk = r.int(this.count('users'));
    const n: Rec = {
      id: String(this.id('notes', k)),
      contact_id: String(this.id('contacts', this.randomContactK(r))),
      title: r.pick(['Discovery call', 'Voicemail', 'Follow-up', 'Réunion “kick-off”', '電話メモ', "Owner's feedback", '']),
      type: NOTE_TYPES[k % NOTE_TYPES.length],
      text: k % 50 === 9 ? longText(20000) : r.pick(['Discussed rollout for 3 sites. Needs SSO.', 'Left message about add-on pricing.', 'Line 1\nLine 2 – “quoted” 🎉', '']),
      assigned_to_user: this.basicUser(uk),
      created_by_user_id: this.userIdCache[uk],
      last_updated_by_user_id: this.randomUser(r),
    };
    this.put(n, 'pinned_at', r.chance(0.1) ? iso(updated) : undefined);
    n.custom_fields = this.customFields(this.models.notes, r, 0.4, -1);
    n.create_time = iso(created);
    n.update_time = iso(updated);
    return n;
  }

  task(k: number): Rec {
    const r = new Rng(this.h('tasks', k, 0));
    const created = this.createMs('tasks', k);
    const modified = this.updateMs('tasks', k);
    const completed = k % 3 === 0;
    const t: Rec = {
      id: String(this.id('tasks', k)),
      title: r.pick(['Send SSO requirements doc', 'Call back re: pricing', 'Envoyer le devis', '見積書を送る', "Check owner's email", 'Task "urgent"']),
    };
    this.put(t, 'description', r.chance(0.6) ? 'Attach the SAML checklist.' : undefined);
    t.type = TASK_TYPES[k % TASK_TYPES.length];
    t.priority = TASK_PRIORITY[k % 3];
    t.completed = completed;
    t.accepted = r.chance(0.8);
    t.contact_id = String(this.id('contacts', this.randomContactK(r)));
    this.put(t, 'opportunity_id', r.chance(0.2) && this.count('opportunities') > 0 ? String(this.id('opportunities', r.int(this.count('opportunities')))) : undefined);
    this.put(t, 'assigned_to_user_id', k % 8 === 5 ? undefined : this.randomUser(r));
    t.created_by_user_id = this.randomUser(r);
    t.last_updated_by_user_id = this.randomUser(r);
    this.put(t, 'due_time', k % 5 === 1 ? undefined : iso(created + r.int(30) * 86_400_000));
    this.put(t, 'remind_time_mins', r.chance(0.5) ? REMIND[k % REMIND.length] : undefined);
    this.put(t, 'completion_time', completed ? iso(modified) : undefined);
    t.custom_fields = this.customFields(this.models.tasks, r, 0.4, -1);
    t.create_time = iso(created);
    t.modification_time = iso(modified);
    return t;
  }

  generate(e: EntityName, k: number): Rec {
    switch (e) {
      case 'contacts':
        return this.contact(k);
      case 'companies':
        return this.company(k);
      case 'tags':
        return this.tag(k);
      case 'tag_categories':
        return this.tagCategory(k);
      case 'users':
        return this.user(k);
      case 'products':
        return this.product(k);
      case 'stages':
        return this.stage(k);
      case 'opportunities':
        return this.opportunity(k);
      case 'orders':
        return this.order(k);
      case 'subscriptions':
        return this.subscription(k);
      case 'notes':
        return this.note(k);
      case 'tasks':
        return this.task(k);
      case 'stage_moves':
        return stageMove(this, k);
      case 'payments':
        return payment(this, k);
      case 'transactions':
        return transaction(this, k);
      case 'product_categories':
        return productCategory(this, k);
    }
  }
}

/** The field that records "last modified" on each entity, which mutations bump. */
export const TIME_FIELD: Record<EntityName, string> = {
  contacts: 'update_time',
  companies: 'update_time',
  tags: 'update_time',
  tag_categories: 'update_time',
  users: 'update_time',
  products: 'update_time',
  stages: 'updated_time',
  opportunities: 'last_updated_time',
  orders: 'modification_time',
  subscriptions: 'modification_time',
  notes: 'update_time',
  tasks: 'modification_time',
  stage_moves: 'create_time',
  payments: 'update_time',
  // No "last modified" field in the v2 shape: a change keeps the record's times ('' = none to stamp).
  transactions: '',
  product_categories: '',
};

/** The creation-time field per entity (null where the v2 shape has none). */
export const CREATE_FIELD: Record<EntityName, string | null> = {
  contacts: 'create_time',
  companies: 'create_time',
  tags: 'create_time',
  tag_categories: 'create_time',
  users: 'create_time',
  products: 'create_time',
  stages: 'created_time',
  opportunities: 'created_time',
  orders: 'creation_time',
  subscriptions: null,
  notes: 'create_time',
  tasks: 'create_time',
  stage_moves: 'create_time',
  payments: 'payment_time',
  transactions: 'transaction_time',
  product_categories: null,
};
