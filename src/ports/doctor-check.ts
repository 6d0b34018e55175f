/** One line of `forge doctor`: something Forge needs, and whether it is there. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** `warn` checks do not make doctor fail but are shown loudly. */
  level: 'ok' | 'warn' | 'error';
  /** What was found, or what to do. Never contains a secret's value. */
  detail: string;
}
