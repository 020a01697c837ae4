/** The message key's home is src/route/message-key.ts (the record router's); this path stays for scripts/bench-parse.ts. */
export { messageKey } from '../route/message-key.ts';
