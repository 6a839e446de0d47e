/** Hub roles, weakest first: each may do everything the ones before it may. */
export const ROLES = ['viewer', 'operator', 'supervisor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** True when `role` is `min` or stronger. */
export function atLeast(role: Role, min: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(min);
}
