/** Builds the production bundle once (wrangler deploy --dry-run), which every workerd-backed test runs. */
import { buildBundle } from '../../scripts/serve/bundle';

export default function setup(): void {
  buildBundle();
}
