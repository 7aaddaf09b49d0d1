/** Character classes that the raw JWT scan and the escape decoder share. */

export const isBase64url = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95

/** `"`, `\`, `/`, b, f, n, r, t: what may follow a backslash in a JSON string. */
export const isEscape = (b: number) =>
  b === 0x22 ||
  b === 0x5c ||
  b === 0x2f ||
  b === 98 ||
  b === 102 ||
  b === 110 ||
  b === 114 ||
  b === 116
