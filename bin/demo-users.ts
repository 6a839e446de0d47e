/**
 * The demo's hub users: an operator (approves the large discharges), two supervisors (the
 * two-person rule needs two different people) and a viewer, created on the first run with random
 * passwords that are shown once and stored only as hashes. Later runs find them and say so.
 *
 * Input: the hub's user store. Output: who exists, with the password of each user created now.
 */
import { randomBytes } from 'node:crypto';
import type { Role, UserStore } from '../hub/auth/index.js';

export interface DemoUser {
  name: string;
  role: Role;
  /** Set only for a user this run created: the one time it is known in clear. */
  password?: string;
}

export const DEMO_USERS: readonly { name: string; role: Role }[] = [
  { name: 'operator', role: 'operator' },
  { name: 'supervisor', role: 'supervisor' },
  { name: 'supervisor2', role: 'supervisor' },
  { name: 'viewer', role: 'viewer' },
];

export async function ensureDemoUsers(users: UserStore, nowMs: number): Promise<DemoUser[]> {
  const out: DemoUser[] = [];
  for (const u of DEMO_USERS) {
    if (users.byName(u.name)) {
      out.push({ ...u });
      continue;
    }
    // 15 random bytes: 20 URL-safe characters, easy to copy from a terminal
    const password = randomBytes(15).toString('base64url');
    await users.add(u.name, u.role, password, nowMs);
    out.push({ ...u, password });
  }
  return out;
}

/** The credentials block for stderr: passwords when just created, else where to reset them. */
export function credentialsText(users: readonly DemoUser[], consoleUrl: string, configHint: string): string {
  const created = users.filter((u) => u.password !== undefined);
  const existing = users.filter((u) => u.password === undefined);
  const lines = [`  console:  ${consoleUrl}`];
  if (created.length > 0) {
    lines.push('  demo users created (passwords shown this once, stored only as hashes):');
    for (const u of created) lines.push(`    ${u.name.padEnd(12)} ${u.role.padEnd(11)} password: ${u.password}`);
  }
  if (existing.length > 0) {
    lines.push(`  demo users ${existing.map((u) => `${u.name} (${u.role})`).join(', ')} exist from an earlier run;`);
    lines.push(`    forgot a password? gridos hub user passwd <name> ${configHint}`);
  }
  return lines.join('\n');
}
