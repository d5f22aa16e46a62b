{{/* Names and labels. */}}
{{- define "autoflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "autoflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "autoflow.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: autoflow
{{- end }}

{{/* Labels of an object that belongs to the release but to no one workload. */}}
{{- define "autoflow.labels" -}}
{{ include "autoflow.commonLabels" . }}
app.kubernetes.io/name: {{ include "autoflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* A workload's selector: dict root, component, pool ("" outside the worker). Never changes on upgrade. */}}
{{- define "autoflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "autoflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- if .pool }}
autoflow.dev/worker-pool: {{ .pool }}
{{- end }}
{{- end }}

{{/* A workload's labels: dict root, workload. */}}
{{- define "autoflow.workloadLabels" -}}
{{ include "autoflow.commonLabels" .root }}
{{ include "autoflow.selectorLabels" (dict "root" .root "component" .workload.component "pool" .workload.pool) }}
{{- end }}

{{- define "autoflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "autoflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image: dict root, image ({repository, tag}). */}}
{{- define "autoflow.image" -}}
{{- $repository := .image.repository }}
{{- with .root.Values.imageRegistry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- printf "%s:%s" $repository (toString (.image.tag | default .root.Chart.AppVersion)) }}
{{- end }}

{{/*
A value as an env string. Helm reads every YAML number as a float64, which prints 1048576 as
"1.048576e+06"; whole numbers print as integers.
*/}}
{{- define "autoflow.envString" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}
{{- int64 . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* An integer or a percentage string (PDB budgets). */}}
{{- define "autoflow.intOrString" -}}
{{- if kindIs "string" . }}{{ quote . }}{{ else }}{{ int64 . }}{{ end }}
{{- end }}

{{/* --- Environment ------------------------------------------------------------------------------- */}}

{{/* Variables that hold secrets: they only ever come through secretKeyRef, never as a plain value. */}}
{{- define "autoflow.secretVariables" -}}
DATABASE_URL JWT_SECRET ENCRYPTION_KEYS VAULT_TOKEN VAULT_ROLE_ID VAULT_SECRET_ID TEMPORAL_API_KEY TEMPORAL_TLS_KEY_PEM TEMPORAL_TLS_CERT_PEM GOOGLE_OAUTH_CLIENT_SECRET SLACK_OAUTH_CLIENT_SECRET GITHUB_OAUTH_CLIENT_SECRET OTEL_EXPORTER_OTLP_HEADERS OTEL_EXPORTER_OTLP_TRACES_HEADERS SLACK_SIGNING_SECRET
{{- end }}

{{/* A plain variable, left out when its value is empty: dict name, value. */}}
{{- define "autoflow.plainEnv" }}
{{- if and (not (kindIs "invalid" .value)) (ne (include "autoflow.envString" .value) "") }}
- name: {{ .name }}
  value: {{ include "autoflow.envString" .value | quote }}
{{- end }}
{{- end }}

{{/* A variable from a Secret, left out when the reference names no Secret: dict name, ref ({name, key}). */}}
{{- define "autoflow.secretEnv" }}
{{- if .ref.name }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key | default .name }}
{{- end }}
{{- end }}

{{/* Operator-given plain settings (an `env` map): dict env, where. A secret variable here fails the render. */}}
{{- define "autoflow.extraEnv" }}
{{- $secretVariables := include "autoflow.secretVariables" . | splitList " " }}
{{- range $name, $value := .env }}
{{- if or (has $name $secretVariables) (hasSuffix "_SECRET" $name) (hasSuffix "_PASSWORD" $name) (hasSuffix "_TOKEN" $name) }}
{{- fail (printf "%s.env.%s: a secret variable must come from a Secret (see values.yaml), not a plain value" $.where $name) }}
{{- end }}
{{- if eq $name "WORKER_TASK_QUEUES" }}
{{- fail (printf "%s.env.WORKER_TASK_QUEUES: set a pool's taskQueues instead" $.where) }}
{{- end }}
{{- include "autoflow.plainEnv" (dict "name" $name "value" $value) }}
{{- end }}
{{- end }}

{{/* Temporal connection: dict root, namespace (bool: the app reads TEMPORAL_NAMESPACE and payload encryption). */}}
{{- define "autoflow.temporalEnv" }}
{{- $temporal := .root.Values.temporal }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_ADDRESS" "value" $temporal.address) }}
{{- if .namespace }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_NAMESPACE" "value" $temporal.namespace) }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_PAYLOAD_ENCRYPTION" "value" $temporal.payloadEncryption) }}
{{- end }}
{{- if $temporal.tls.enabled }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_TLS" "value" "true") }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_TLS_SERVER_NAME" "value" $temporal.tls.serverName) }}
{{- if or $temporal.tls.ca.secretName $temporal.tls.ca.configMapName }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_TLS_CA_FILE" "value" "/etc/autoflow/temporal-tls/ca/ca.crt") }}
{{- end }}
{{- if $temporal.tls.clientCert.secretName }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_TLS_CERT_FILE" "value" "/etc/autoflow/temporal-tls/client/tls.crt") }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_TLS_KEY_FILE" "value" "/etc/autoflow/temporal-tls/client/tls.key") }}
{{- end }}
{{- end }}
{{- include "autoflow.secretEnv" (dict "name" "TEMPORAL_API_KEY" "ref" $temporal.apiKeySecret) }}
{{- end }}

{{/* Keys of secrets at rest (every app): root. */}}
{{- define "autoflow.keyProviderEnv" }}
{{- $encryption := .Values.encryption }}
{{- include "autoflow.secretEnv" (dict "name" "ENCRYPTION_KEYS" "ref" .Values.secrets.encryptionKeys) }}
{{- include "autoflow.plainEnv" (dict "name" "ENCRYPTION_CURRENT_KEY_ID" "value" $encryption.currentKeyId) }}
{{- include "autoflow.plainEnv" (dict "name" "KEY_PROVIDER" "value" $encryption.keyProvider) }}
{{- if eq $encryption.keyProvider "vault-transit" }}
{{- include "autoflow.plainEnv" (dict "name" "VAULT_ADDR" "value" $encryption.vault.address) }}
{{- include "autoflow.plainEnv" (dict "name" "VAULT_TRANSIT_MOUNT" "value" $encryption.vault.transitMount) }}
{{- include "autoflow.plainEnv" (dict "name" "VAULT_TRANSIT_KEY" "value" $encryption.vault.transitKey) }}
{{- include "autoflow.plainEnv" (dict "name" "VAULT_NAMESPACE" "value" $encryption.vault.namespace) }}
{{- include "autoflow.secretEnv" (dict "name" "VAULT_TOKEN" "ref" $encryption.vault.tokenSecret) }}
{{- include "autoflow.secretEnv" (dict "name" "VAULT_ROLE_ID" "ref" $encryption.vault.roleIdSecret) }}
{{- include "autoflow.secretEnv" (dict "name" "VAULT_SECRET_ID" "ref" $encryption.vault.secretIdSecret) }}
{{- end }}
{{- end }}

{{/* Platform OAuth apps (api-gateway, oauth-service, worker): root. */}}
{{- define "autoflow.oauthProvidersEnv" }}
{{- range $provider, $settings := .Values.oauth.providers }}
{{- include "autoflow.plainEnv" (dict "name" (printf "%s_OAUTH_CLIENT_ID" (upper $provider)) "value" $settings.clientId) }}
{{- include "autoflow.secretEnv" (dict "name" (printf "%s_OAUTH_CLIENT_SECRET" (upper $provider)) "ref" $settings.clientSecret) }}
{{- end }}
{{- end }}

{{/* What every app reads: dict root, workload, namespace (bool). */}}
{{- define "autoflow.commonEnv" }}
{{- include "autoflow.secretEnv" (dict "name" "DATABASE_URL" "ref" .root.Values.postgres.urlSecret) }}
{{- include "autoflow.temporalEnv" (dict "root" .root "namespace" .namespace) }}
{{- include "autoflow.keyProviderEnv" .root }}
{{- include "autoflow.plainEnv" (dict "name" "HOST" "value" "0.0.0.0") }}
{{- include "autoflow.plainEnv" (dict "name" "PORT" "value" .workload.port) }}
{{- include "autoflow.plainEnv" (dict "name" "LOG_LEVEL" "value" .root.Values.logLevel) }}
{{- include "autoflow.tracingEnv" .root }}
{{- end }}

{{/* OpenTelemetry export (every app; packages/tracing): root. Nothing when no endpoint is set. */}}
{{- define "autoflow.tracingEnv" }}
{{- $tracing := .Values.observability.tracing }}
{{- if $tracing.otlpEndpoint }}
{{- include "autoflow.plainEnv" (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" $tracing.otlpEndpoint) }}
{{- include "autoflow.plainEnv" (dict "name" "OTEL_EXPORTER_OTLP_PROTOCOL" "value" $tracing.protocol) }}
{{- include "autoflow.secretEnv" (dict "name" "OTEL_EXPORTER_OTLP_HEADERS" "ref" $tracing.headersSecret) }}
{{- include "autoflow.plainEnv" (dict "name" "OTEL_TRACES_SAMPLER" "value" $tracing.sampler) }}
{{- include "autoflow.plainEnv" (dict "name" "OTEL_TRACES_SAMPLER_ARG" "value" $tracing.samplerArg) }}
{{- include "autoflow.plainEnv" (dict "name" "OTEL_RESOURCE_ATTRIBUTES" "value" $tracing.resourceAttributes) }}
{{- end }}
{{- end }}

{{/* Per app (apps/<app>/src/env.ts): dict root, workload. */}}
{{- define "autoflow.env.api-gateway" }}
{{- $values := .root.Values.apiGateway }}
{{- include "autoflow.commonEnv" (dict "root" .root "workload" .workload "namespace" true) }}
{{- include "autoflow.secretEnv" (dict "name" "JWT_SECRET" "ref" .root.Values.secrets.jwt) }}
{{- include "autoflow.oauthProvidersEnv" .root }}
{{- include "autoflow.plainEnv" (dict "name" "PUBLIC_WEBHOOK_BASE_URL" "value" $values.publicWebhookBaseUrl) }}
{{- include "autoflow.plainEnv" (dict "name" "TRUST_PROXY" "value" $values.trustProxy) }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_UI_ORIGIN" "value" .root.Values.temporal.uiOrigin) }}
{{- include "autoflow.plainEnv" (dict "name" "SHUTDOWN_GRACE_MS" "value" $values.shutdownGraceMs) }}
{{- include "autoflow.extraEnv" (dict "env" $values.env "where" "apiGateway") }}
{{- end }}

{{- define "autoflow.env.oauth-service" }}
{{- $values := .root.Values.oauthService }}
{{- $oauth := .root.Values.oauth }}
{{- include "autoflow.commonEnv" (dict "root" .root "workload" .workload "namespace" false) }}
{{- include "autoflow.secretEnv" (dict "name" "JWT_SECRET" "ref" .root.Values.secrets.jwt) }}
{{- include "autoflow.oauthProvidersEnv" .root }}
{{- include "autoflow.plainEnv" (dict "name" "OAUTH_CALLBACK_URL" "value" $oauth.callbackUrl) }}
{{- include "autoflow.plainEnv" (dict "name" "OAUTH_REDIRECT_ALLOWLIST" "value" $oauth.redirectAllowlist) }}
{{- include "autoflow.plainEnv" (dict "name" "OAUTH_DEFAULT_REDIRECT_URL" "value" $oauth.defaultRedirectUrl) }}
{{- include "autoflow.plainEnv" (dict "name" "OAUTH_RATE_LIMIT_PER_MINUTE" "value" $oauth.rateLimitPerMinute) }}
{{- include "autoflow.plainEnv" (dict "name" "TRUST_PROXY" "value" $values.trustProxy) }}
{{- include "autoflow.plainEnv" (dict "name" "SHUTDOWN_GRACE_MS" "value" $values.shutdownGraceMs) }}
{{- include "autoflow.extraEnv" (dict "env" $values.env "where" "oauthService") }}
{{- end }}

{{- define "autoflow.env.trigger-ingest" }}
{{- $values := .root.Values.triggerIngest }}
{{- include "autoflow.commonEnv" (dict "root" .root "workload" .workload "namespace" true) }}
{{- include "autoflow.plainEnv" (dict "name" "PUBSUB_PUSH_AUDIENCE" "value" .root.Values.gmail.pushAudience) }}
{{- include "autoflow.plainEnv" (dict "name" "PUBSUB_PUSH_SERVICE_ACCOUNT" "value" .root.Values.gmail.pushServiceAccount) }}
{{- include "autoflow.secretEnv" (dict "name" "SLACK_SIGNING_SECRET" "ref" .root.Values.slack.signingSecret) }}
{{- include "autoflow.plainEnv" (dict "name" "SHUTDOWN_GRACE_MS" "value" $values.shutdownGraceMs) }}
{{- include "autoflow.extraEnv" (dict "env" $values.env "where" "triggerIngest") }}
{{- end }}

{{- define "autoflow.env.worker" }}
{{- $values := .root.Values.worker }}
{{- $pool := .workload.values }}
{{- include "autoflow.commonEnv" (dict "root" .root "workload" .workload "namespace" true) }}
{{- include "autoflow.oauthProvidersEnv" .root }}
{{- include "autoflow.plainEnv" (dict "name" "WORKER_TASK_QUEUES" "value" (join "," $pool.taskQueues)) }}
{{- include "autoflow.plainEnv" (dict "name" "WORKER_SHUTDOWN_GRACE_MS" "value" $values.shutdownGraceMs) }}
{{- $sdkMetricsPort := int64 .root.Values.observability.temporalSdkMetricsPort }}
{{- include "autoflow.plainEnv" (dict "name" "TEMPORAL_METRICS_BIND_ADDRESS" "value" (ternary (printf "0.0.0.0:%d" $sdkMetricsPort) "off" (gt $sdkMetricsPort 0))) }}
{{- include "autoflow.plainEnv" (dict "name" "HTTP_ACTION_ALLOWED_HOSTS" "value" $values.httpActionAllowedHosts) }}
{{- include "autoflow.plainEnv" (dict "name" "GMAIL_PUBSUB_TOPIC" "value" .root.Values.gmail.pubsubTopic) }}
{{- include "autoflow.extraEnv" (dict "env" $values.env "where" "worker") }}
{{- include "autoflow.extraEnv" (dict "env" $pool.env "where" (printf "worker.pools[%s]" $pool.name)) }}
{{- end }}

{{/* --- Workloads ---------------------------------------------------------------------------------- */}}

{{/*
The worker pools with poolDefaults filled in, as a YAML list. A pool's map settings merge one level
deep by hand: sprig's merge functions treat `false` as unset, so `autoscaling: { enabled: false }` in a
pool would not win over the default.
*/}}
{{- define "autoflow.workerPools" -}}
{{- $pools := list }}
{{- $names := dict }}
{{- range $index, $pool := .Values.worker.pools }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$" (toString $pool.name)) }}
{{- fail (printf "worker.pools[%d].name %q: 1 to 20 lower-case letters, digits and dashes" $index (toString $pool.name)) }}
{{- end }}
{{- if hasKey $names $pool.name }}
{{- fail (printf "worker.pools: the name %q is used twice" $pool.name) }}
{{- end }}
{{- $_ := set $names $pool.name true }}
{{- if not $pool.taskQueues }}
{{- fail (printf "worker.pools[%s].taskQueues: a list of task queues, or [all]" $pool.name) }}
{{- end }}
{{- $merged := deepCopy $.Values.worker.poolDefaults }}
{{- range $key, $value := $pool }}
{{- if and (kindIs "map" $value) (kindIs "map" (get $merged $key)) }}
{{- $inner := deepCopy (get $merged $key) }}
{{- range $innerKey, $innerValue := $value }}
{{- $_ := set $inner $innerKey $innerValue }}
{{- end }}
{{- $_ := set $merged $key $inner }}
{{- else }}
{{- $_ := set $merged $key $value }}
{{- end }}
{{- end }}
{{- $pools = append $pools $merged }}
{{- end }}
{{- if not $pools }}
{{- fail "worker.pools: at least one pool" }}
{{- end }}
{{- toYaml $pools }}
{{- end }}

{{/*
Every Deployment as a YAML list of {name, app, component, pool, values, image, port, shutdownGraceMs,
http}: the three HTTP apps, then one per worker pool. Deployments, HPAs and PDBs all range over it.
*/}}
{{- define "autoflow.workloads" -}}
{{- $fullname := include "autoflow.fullname" . }}
{{- $workloads := list }}
{{- range $key, $app := dict "apiGateway" "api-gateway" "oauthService" "oauth-service" "triggerIngest" "trigger-ingest" }}
{{- $values := index $.Values $key }}
{{- $workloads = append $workloads (dict "name" (printf "%s-%s" $fullname $app) "app" $app "component" $app "pool" "" "values" $values "image" $values.image "port" $values.port "shutdownGraceMs" $values.shutdownGraceMs "http" true "where" $key) }}
{{- end }}
{{- range $pool := include "autoflow.workerPools" . | fromYamlArray }}
{{- $name := printf "%s-worker-%s" $fullname $pool.name }}
{{- if gt (len $name) 63 }}
{{- fail (printf "the Deployment name %q is longer than 63 characters: shorten the pool name or fullnameOverride" $name) }}
{{- end }}
{{- $workloads = append $workloads (dict "name" $name "app" "worker" "component" "worker" "pool" $pool.name "values" $pool "image" $.Values.worker.image "port" $.Values.worker.port "shutdownGraceMs" $.Values.worker.shutdownGraceMs "http" false "where" (printf "worker.pools[%s]" $pool.name)) }}
{{- end }}
{{- toYaml $workloads }}
{{- end }}

{{/* Pod volumes: /tmp, and the Temporal TLS files when TLS is on. */}}
{{- define "autoflow.volumes" -}}
{{- $tls := .Values.temporal.tls -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if $tls.enabled }}
{{- if $tls.ca.secretName }}
- name: temporal-ca
  secret:
    secretName: {{ $tls.ca.secretName }}
    items:
      - key: {{ $tls.ca.key }}
        path: ca.crt
{{- else if $tls.ca.configMapName }}
- name: temporal-ca
  configMap:
    name: {{ $tls.ca.configMapName }}
    items:
      - key: {{ $tls.ca.key }}
        path: ca.crt
{{- end }}
{{- if $tls.clientCert.secretName }}
- name: temporal-client-cert
  secret:
    secretName: {{ $tls.clientCert.secretName }}
    # Owner and group (fsGroup) may read; the key is readable by no one else.
    defaultMode: 288
    items:
      - key: {{ $tls.clientCert.certKey }}
        path: tls.crt
      - key: {{ $tls.clientCert.keyKey }}
        path: tls.key
{{- end }}
{{- end }}
{{- end }}

{{- define "autoflow.volumeMounts" -}}
{{- $tls := .Values.temporal.tls -}}
- name: tmp
  mountPath: /tmp
{{- if $tls.enabled }}
{{- if or $tls.ca.secretName $tls.ca.configMapName }}
- name: temporal-ca
  mountPath: /etc/autoflow/temporal-tls/ca
  readOnly: true
{{- end }}
{{- if $tls.clientCert.secretName }}
- name: temporal-client-cert
  mountPath: /etc/autoflow/temporal-tls/client
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/* Settings that cannot work together stop the render with a message naming the value. */}}
{{- define "autoflow.validate" -}}
{{- $values := .Values }}
{{- if not $values.postgres.urlSecret.name }}
{{- fail "postgres.urlSecret.name: the Secret holding DATABASE_URL is required" }}
{{- end }}
{{- if not $values.secrets.encryptionKeys.name }}
{{- fail "secrets.encryptionKeys.name: the Secret holding ENCRYPTION_KEYS is required (every app seals Temporal payloads with it)" }}
{{- end }}
{{- if not $values.secrets.jwt.name }}
{{- fail "secrets.jwt.name: the Secret holding JWT_SECRET is required" }}
{{- end }}
{{- if not $values.temporal.address }}
{{- fail "temporal.address: the Temporal frontend's host:port is required" }}
{{- end }}
{{- $tls := $values.temporal.tls }}
{{- if and (not $tls.enabled) (or $tls.ca.secretName $tls.ca.configMapName $tls.clientCert.secretName $tls.serverName) }}
{{- fail "temporal.tls: a CA, client certificate or server name is set but temporal.tls.enabled is false" }}
{{- end }}
{{- if and $tls.ca.secretName $tls.ca.configMapName }}
{{- fail "temporal.tls.ca: set secretName or configMapName, not both" }}
{{- end }}
{{- if not (has $values.temporal.payloadEncryption (list "required" "accept-plain" "off")) }}
{{- fail "temporal.payloadEncryption: required, accept-plain or off" }}
{{- end }}
{{- $encryption := $values.encryption }}
{{- if not (has $encryption.keyProvider (list "env" "vault-transit")) }}
{{- fail "encryption.keyProvider: env or vault-transit" }}
{{- end }}
{{- if eq $encryption.keyProvider "vault-transit" }}
{{- if not (and $encryption.vault.address $encryption.vault.transitKey) }}
{{- fail "encryption.vault: address and transitKey are required with keyProvider vault-transit" }}
{{- end }}
{{- if not (or $encryption.vault.tokenSecret.name (and $encryption.vault.roleIdSecret.name $encryption.vault.secretIdSecret.name)) }}
{{- fail "encryption.vault: a tokenSecret, or roleIdSecret and secretIdSecret, is required with keyProvider vault-transit" }}
{{- end }}
{{- end }}
{{- range $provider, $settings := $values.oauth.providers }}
{{- if not (has $provider (list "google" "slack" "github")) }}
{{- fail (printf "oauth.providers.%s: the apps know google, slack and github" $provider) }}
{{- end }}
{{- if ne (not $settings.clientId) (not $settings.clientSecret.name) }}
{{- fail (printf "oauth.providers.%s: set both clientId and clientSecret.name, or neither" $provider) }}
{{- end }}
{{- end }}
{{- end }}
