/**
 * KubeSphere's IAM objects (`iam.kubesphere.io/v1beta1`) and the Namespace label that authorization reads, as
 * valibot schemas: the exporter validates what it reads with them. Only the fields ks-apiserver's authorizer and
 * authenticator read are kept; the rest of each object is ignored (a role carries much that authorization never
 * consults).
 */
import * as v from 'valibot';

export const IAM_GROUP = 'iam.kubesphere.io';
export const IAM_VERSION = 'v1beta1';
export const REGO_ANNOTATION = 'iam.kubesphere.io/rego-override';
export const WORKSPACE_LABEL = 'kubesphere.io/workspace';

const Name = v.pipe(v.string(), v.minLength(1, 'must not be empty'));
const Strings = v.array(v.string());

const Meta = v.object({
  name: Name,
  namespace: v.optional(v.string()),
  labels: v.optional(v.record(v.string(), v.string())),
  annotations: v.optional(v.record(v.string(), v.string())),
  creationTimestamp: v.optional(v.unknown()),
});

/** Kubernetes' PolicyRule: every list optional (an absent list matches nothing but `*` never appears by default). */
export const PolicyRule = v.object({
  verbs: v.optional(v.nullable(Strings)),
  apiGroups: v.optional(v.nullable(Strings)),
  resources: v.optional(v.nullable(Strings)),
  resourceNames: v.optional(v.nullable(Strings)),
  nonResourceURLs: v.optional(v.nullable(Strings)),
});
export type PolicyRule = v.InferOutput<typeof PolicyRule>;

export const ROLE_KINDS = ['GlobalRole', 'ClusterRole', 'WorkspaceRole', 'Role'] as const;
export type RoleKind = (typeof ROLE_KINDS)[number];
export const BINDING_KINDS = ['GlobalRoleBinding', 'ClusterRoleBinding', 'WorkspaceRoleBinding', 'RoleBinding'] as const;
export type BindingKind = (typeof BINDING_KINDS)[number];

export const IamRole = v.object({
  apiVersion: v.string(),
  kind: v.picklist(ROLE_KINDS),
  metadata: Meta,
  rules: v.optional(v.nullable(v.array(PolicyRule))),
});
export type IamRole = v.InferOutput<typeof IamRole>;

export const Subject = v.object({
  kind: v.string(),
  name: v.string(),
  apiGroup: v.optional(v.string()),
  namespace: v.optional(v.string()),
});
export type Subject = v.InferOutput<typeof Subject>;

export const IamBinding = v.object({
  apiVersion: v.string(),
  kind: v.picklist(BINDING_KINDS),
  metadata: Meta,
  roleRef: v.object({ kind: v.string(), name: v.string(), apiGroup: v.optional(v.string()) }),
  subjects: v.optional(v.nullable(v.array(Subject))),
});
export type IamBinding = v.InferOutput<typeof IamBinding>;

export const User = v.object({
  apiVersion: v.string(),
  kind: v.literal('User'),
  metadata: Meta,
  status: v.optional(v.object({ state: v.optional(v.string()) })),
});
export type User = v.InferOutput<typeof User>;

export const Namespace = v.object({
  apiVersion: v.literal('v1'),
  kind: v.literal('Namespace'),
  metadata: Meta,
});
export type Namespace = v.InferOutput<typeof Namespace>;

/** KubeSphere's UserState values; a token of a `Disabled` user is refused (jwt.go). */
export const USER_STATES = ['Active', 'Disabled', 'AuthLimitExceeded'] as const;
