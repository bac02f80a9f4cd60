/** What the exporter reads from: a folder of manifests or a Kubernetes API server. */
import type { ObjectReader } from '../bundle-sources';
import type { RawObject } from '../manifests';

export interface SourceContents {
  /** APIService, JSBundle and ReverseProxy objects, unvalidated. */
  extensions: RawObject[];
  /** Reads the ConfigMaps and Secrets that JSBundles name. */
  reader: ObjectReader;
  /** Anything that makes the read untrustworthy (a file that does not parse): the run fails, nothing is published. */
  errors: string[];
  /** Objects read but not used, by kind, for the summary. */
  ignored: string[];
}

export interface Source {
  readonly description: string;
  load(): Promise<SourceContents>;
}
