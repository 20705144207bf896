/**
 * Which columns look personal, from their names and types alone. A heuristic: it reads
 * no data, so a `jsonb` column named `profile` holding addresses is not flagged, and a
 * `name` column of a `products` table is (give it `keep`). It only decides which columns
 * must be given a rule before a copy leaves the source; the rule itself is the user's.
 */

/** What a flagged column seems to hold; `fake` picks its plausible values from it. */
export type PersonalKind = "email" | "phone" | "name" | "first_name" | "last_name" | "username" | "address" | "city" | "postal" | "ip" | "birth" | "identifier";

/** Words that, beside `name`, say the name is of a thing and not of a person (`table_name`, `product_name`). */
const THING_WORDS = new Set([
  "table", "schema", "column", "file", "filename", "host", "hostname", "domain", "product", "company", "org", "organization", "organisation",
  "team", "project", "app", "application", "role", "event", "type", "kind", "category", "tag", "brand", "index", "constraint", "key",
  "bucket", "queue", "job", "feature", "plan", "model", "service", "device", "branch", "db", "database", "relation", "function", "class",
  "group", "channel", "topic", "metric", "setting", "param", "parameter", "field", "attribute", "sequence", "view", "trigger", "policy",
  "extension", "server", "cluster", "region", "zone", "country", "currency", "language", "locale", "timezone", "status", "state", "step",
  "phase", "migration", "version", "release", "display", "object", "resource", "item", "sku", "store", "shop", "site", "page", "route",
]);

/** Single words that flag a column, and what it then holds. */
const WORDS: Record<string, PersonalKind> = {
  email: "email", emails: "email", mail: "email", emailaddress: "email",
  phone: "phone", phones: "phone", mobile: "phone", cellphone: "phone", telephone: "phone", tel: "phone", fax: "phone", msisdn: "phone",
  firstname: "first_name", givenname: "first_name", forename: "first_name",
  lastname: "last_name", surname: "last_name", familyname: "last_name", maidenname: "last_name",
  fullname: "name", nickname: "name", username: "username",
  address: "address", addr: "address", street: "address", address1: "address", address2: "address",
  city: "city", town: "city",
  zip: "postal", zipcode: "postal", postcode: "postal", postal: "postal", postalcode: "postal",
  ip: "ip", ipv4: "ip", ipv6: "ip", ipaddr: "ip", ipaddress: "ip", mac: "ip", macaddr: "ip",
  birth: "birth", birthday: "birth", birthdate: "birth", dob: "birth",
  ssn: "identifier", passport: "identifier", iban: "identifier", nino: "identifier",
};

/** Two words in a row that flag a column (`e_mail`, `first_name`, `tax_id`). */
const PAIRS: Record<string, PersonalKind> = {
  "e mail": "email",
  "first name": "first_name", "given name": "first_name", "middle name": "first_name",
  "last name": "last_name", "family name": "last_name",
  "full name": "name", "user name": "username", "display name": "name", "real name": "name", "legal name": "name",
  "tax id": "identifier", "national id": "identifier", "social security": "identifier", "card number": "identifier", "credit card": "identifier",
  "id number": "identifier", "passport number": "identifier",
};

/** Types that hold a network address whatever the column is called. */
const TYPES: Record<string, PersonalKind> = { inet: "ip", cidr: "ip", macaddr: "ip", macaddr8: "ip" };

/**
 * The kind of personal data a column seems to hold, or null. Names are split into words
 * at `_`, `-`, spaces, digits and camelCase humps (`firstName`, `user_email`, `IPAddress`).
 *
 * @example
 * personalKind("customer_email", "text"); // "email"
 * personalKind("table_name", "text");     // null
 */
export function personalKind(column: string, baseType: string): PersonalKind | null {
  const byType = TYPES[baseType];
  if (byType) return byType;
  const words = column
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((w) => w.length > 0);
  for (let i = 0; i + 1 < words.length; i++) {
    const pair = PAIRS[`${words[i]} ${words[i + 1]}`];
    if (pair) return pair;
  }
  if (words.includes("name") && !words.some((w) => THING_WORDS.has(w))) return words.includes("user") ? "username" : "name";
  for (const word of words) {
    const kind = WORDS[word];
    if (kind) return kind;
  }
  // Glued forms (`useremail`, `homephone`) when the whole name is one word.
  if (words.length === 1) {
    const word = words[0]!;
    for (const [suffix, kind] of [["email", "email"], ["phone", "phone"], ["address", "address"], ["birthday", "birth"]] as const) {
      if (word.endsWith(suffix) && word.length > suffix.length) return kind;
    }
  }
  return null;
}
