{{/*
Refusals at render time, for values that would deploy something broken or unsafe. Each message
says what to change. Every template includes them first: whichever template helm renders
first, the refusal is what it reports (not a template error further on).
*/}}
{{- define "forge.guards" -}}
{{- include "forge.storeGuards" . -}}
{{- include "forge.tokenGuards" . -}}
{{- include "forge.configGuards" . -}}
{{- include "forge.cidrGuards" . -}}
{{- include "forge.resourceGuards" . -}}
{{- end -}}

{{- define "forge.storeGuards" -}}
{{- $kind := .Values.store.kind -}}
{{- if not (has $kind (list "sqlite" "nats")) -}}
{{- fail (printf "store.kind %q is not a store; use sqlite (one replica) or nats (several)" $kind) -}}
{{- end -}}
{{- if and (eq $kind "sqlite") (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "replicaCount %v needs a shared store: SQLite serves one replica per data dir; set store.kind: nats (see values-nats.yaml) or replicaCount: 1" .Values.replicaCount) -}}
{{- end -}}
{{- if and (eq $kind "nats") (not .Values.store.nats.url) -}}
{{- fail "store.nats.url is empty; give the NATS JetStream address, e.g. nats://nats.nats.svc.cluster.local:4222" -}}
{{- end -}}
{{- end -}}

{{/* `config` must leave the chart's keys alone and hold no secret; secretEnv only references. */}}
{{- define "forge.configGuards" -}}
{{- range $key := list "server" "data_dir" "store" "sandbox" -}}
{{- if hasKey (default (dict) $.Values.config) $key -}}
{{- fail (printf "config.%s is set by the chart; use the chart's own values instead (server.*, store.*, workers.*; data_dir is /data)" $key) -}}
{{- end -}}
{{- end -}}
{{- include "forge.refuseLiteralSecrets" (list "config" .Values.config) -}}
{{- $chartEnv := list "FORGE_CONFIG" "FORGE_LOG_LEVEL" "FORGE_POD_IP" "FORGE_NATS_TOKEN" "HOME" "TMPDIR" "FORGE_HOST" "FORGE_PORT" "FORGE_DATA_DIR" "FORGE_ISOLATION" -}}
{{- range $name, $ref := .Values.secretEnv -}}
{{- if or (has $name $chartEnv) (hasPrefix "FORGE_TOKEN_" $name) -}}
{{- fail (printf "secretEnv.%s: the chart sets this variable itself (or Forge reads it as an override); use another name in the ${...} reference" $name) -}}
{{- end -}}
{{- if not (and (kindIs "map" $ref) $ref.secret $ref.key) -}}
{{- fail (printf "secretEnv.%s must be {secret: <Secret name>, key: <key>}: a reference, not a value" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "forge.tokenGuards" -}}
{{- if not .Values.server.tokens -}}
{{- fail "server.tokens is empty: Forge listens on every address in the pod and refuses to start without an API token; add one, e.g. {name: admin, role: admin, secretRef: {name: forge-api-tokens, key: admin}}" -}}
{{- end -}}
{{- $envNames := list -}}
{{- range .Values.server.tokens -}}
{{- $env := include "forge.tokenEnv" (toString .name) -}}
{{- if has $env $envNames -}}
{{- fail (printf "server.tokens: two tokens map to the variable %s (names are upper-cased, other characters become _); rename one" $env) -}}
{{- end -}}
{{- $envNames = append $envNames $env -}}
{{- if hasKey . "token" -}}
{{- fail (printf "server.tokens %q has a literal token, which would be written into the ConfigMap; put it in a Secret and give secretRef: {name, key} instead" .name) -}}
{{- end -}}
{{- if not (and .name .secretRef .secretRef.name .secretRef.key) -}}
{{- fail "each server.tokens entry needs a name and secretRef: {name: <Secret>, key: <key>}" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Secret-looking keys in `config` (token, secret, webhook_secret, and what Forge's own redaction
treats as secret: *_KEY, *_TOKEN, *_SECRET, *_PASSWORD, …, Authorization and Cookie headers) must
hold a ${NAME} reference; env_key (the NAME of a variable) is not a secret. A URL must not carry
user:password@.
*/}}
{{- define "forge.isSecretKey" -}}
{{- if and (ne . "env_key") (or (has (lower .) (list "authorization" "cookie")) (and (regexMatch "(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIALS?)$|(^|_)(AUTH|PASS|PAT)$" .) (not (regexMatch "(?i)_(FILE|PATH|DIR)$" .)))) -}}
true
{{- end -}}
{{- end -}}

{{- define "forge.refuseLiteralSecrets" -}}
{{- $path := index . 0 -}}
{{- $node := index . 1 -}}
{{- $reference := "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" -}}
{{- if kindIs "map" $node -}}
{{- range $key, $value := $node -}}
{{- $where := printf "%s.%s" $path $key -}}
{{- if and (kindIs "string" $value) (include "forge.isSecretKey" $key) (not (regexMatch $reference $value)) -}}
{{- fail (printf "%s holds a literal secret, which would be written into the ConfigMap; write ${NAME} and add NAME to secretEnv (a Secret reference)" $where) -}}
{{- end -}}
{{- include "forge.refuseLiteralSecrets" (list $where $value) -}}
{{- end -}}
{{- else if kindIs "slice" $node -}}
{{- range $i, $value := $node -}}
{{- include "forge.refuseLiteralSecrets" (list (printf "%s[%d]" $path $i) $value) -}}
{{- end -}}
{{- else if and (kindIs "string" $node) (regexMatch "://[^/@\\s]+:[^/@\\s]+@" $node) (not (regexMatch $reference $node)) -}}
{{- fail (printf "%s has a password in its URL, which would be written into the ConfigMap; use ${NAME} with NAME in secretEnv" $path) -}}
{{- end -}}
{{- end -}}

{{/*
Model API CIDRs open worker egress to whatever they cover. Private, loopback, link-local (cloud
metadata) and shared ranges would open the LAN, the cluster (its API server included) or the
node; a prefix shorter than /8 is most of the internet.
*/}}
{{- define "forge.cidrGuards" -}}
{{- range .Values.networkPolicy.modelApi.cidrs -}}
{{- $cidr := toString . -}}
{{- if not (regexMatch "^[0-9a-fA-F:.]+/[0-9]{1,3}$" $cidr) -}}
{{- fail (printf "networkPolicy.modelApi.cidrs: %q is not a CIDR; write e.g. 160.79.104.0/23" $cidr) -}}
{{- end -}}
{{- $bits := int (last (splitList "/" $cidr)) -}}
{{- if lt $bits 8 -}}
{{- fail (printf "networkPolicy.modelApi.cidrs: %s is wider than /8 and would let agents reach most of the internet; list the model API's own ranges, or use networkPolicy.modelApi.proxy" $cidr) -}}
{{- end -}}
{{- if regexMatch "^(0\\.|10\\.|127\\.|169\\.254\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.)|^(::|[fF][cCdD]|[fF][eE][89aAbB])" $cidr -}}
{{- fail (printf "networkPolicy.modelApi.cidrs: %s is a private, loopback or link-local range: it would let agents reach the LAN, the cluster (its API server too) or cloud metadata; for a model API inside your network use networkPolicy.modelApi.proxy" $cidr) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A worker whose resources the worker namespace cannot admit would never start: the Job controller
is refused (FailedCreate) and the attempt fails only at workers.startTimeout. Refused here instead.
*/}}
{{- define "forge.resourceGuards" -}}
{{- $w := .Values.workers.resources -}}
{{- range $r := list "cpu" "memory" -}}
{{- $limit := index (default (dict) $w.limits) $r -}}
{{- $request := index (default (dict) $w.requests) $r -}}
{{- if and $.Values.limitRange.enabled $limit (index $.Values.limitRange.max $r) -}}
{{- if gt (float64 (include "forge.quantity" $limit)) (float64 (include "forge.quantity" (index $.Values.limitRange.max $r))) -}}
{{- fail (printf "workers.resources.limits.%s (%v) is above limitRange.max.%s (%v): the namespace would refuse every worker pod; lower the one or raise the other" $r $limit $r (index $.Values.limitRange.max $r)) -}}
{{- end -}}
{{- end -}}
{{- if and $.Values.quota.enabled $limit -}}
{{- if gt (float64 (include "forge.quantity" $limit)) (float64 (include "forge.quantity" (index $.Values.quota.limits $r))) -}}
{{- fail (printf "workers.resources.limits.%s (%v) is above quota.limits.%s (%v): not even one worker pod would fit the ResourceQuota; lower the one or raise the other" $r $limit $r (index $.Values.quota.limits $r)) -}}
{{- end -}}
{{- end -}}
{{- if and $.Values.quota.enabled $request -}}
{{- if gt (float64 (include "forge.quantity" $request)) (float64 (include "forge.quantity" (index $.Values.quota.requests $r))) -}}
{{- fail (printf "workers.resources.requests.%s (%v) is above quota.requests.%s (%v): not even one worker pod would fit the ResourceQuota; lower the one or raise the other" $r $request $r (index $.Values.quota.requests $r)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A Kubernetes quantity (500m, 2, 4Gi, 1.5G) as a plain number of cores or bytes. */}}
{{- define "forge.quantity" -}}
{{- $q := toString . -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $q -}}
{{- $suffix := trimPrefix $number $q -}}
{{- $scale := dict "" 1.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 -}}
{{- if or (not $number) (not (or (eq $suffix "m") (hasKey $scale $suffix))) -}}
{{- fail (printf "%q is not a Kubernetes quantity this chart reads; write e.g. 500m, 2, 512Mi, 4Gi" $q) -}}
{{- end -}}
{{- if eq $suffix "m" -}}
{{- divf (float64 $number) 1000 -}}
{{- else -}}
{{- mulf (float64 $number) (get $scale $suffix) -}}
{{- end -}}
{{- end -}}
