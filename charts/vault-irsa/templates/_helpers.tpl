{{/*
Names and labels shared by every template. The full name is "<release>" when the release name already
contains the chart name (helm install vault-irsa ...), else "<release>-<chart>"; truncated to 63 characters,
the limit of a DNS label and of label values.
*/}}
{{- define "vault-irsa.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vault-irsa.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vault-irsa.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the life of a release (a Deployment's selector is immutable). */}}
{{- define "vault-irsa.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vault-irsa.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "vault-irsa.labels" -}}
helm.sh/chart: {{ include "vault-irsa.chart" . }}
{{ include "vault-irsa.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: vault-irsa
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The label the MutatingWebhookConfiguration's objectSelector keys on, so the webhook never sees its own pods
even if someone drops the namespace exclusion.
*/}}
{{- define "vault-irsa.webhookPodLabel" -}}
vault-irsa.io/webhook-pod: "true"
{{- end -}}

{{- define "vault-irsa.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vault-irsa.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vault-irsa.webhookImage" -}}
{{- printf "%s:%s" .Values.webhook.image.repository (default .Chart.AppVersion .Values.webhook.image.tag) -}}
{{- end -}}

{{- define "vault-irsa.sidecarImage" -}}
{{- printf "%s:%s" .Values.sidecar.image.repository (default .Chart.AppVersion .Values.sidecar.image.tag) -}}
{{- end -}}

{{/* The Secret holding the serving certificate, whichever TLS mode made it. */}}
{{- define "vault-irsa.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- required "tls.secret.name is required when tls.mode is secret" .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "vault-irsa.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
tls.mode=auto: the Secret the webhook keeps its CA and certificate in. Its own name (not the "-tls" Secret of
the other modes, which is type kubernetes.io/tls): an empty Secret can only be Opaque, and a Secret's type
cannot change, so switching modes on upgrade would otherwise fail.
*/}}
{{- define "vault-irsa.autoTlsSecretName" -}}
{{- printf "%s-auto-tls" (include "vault-irsa.fullname" .) -}}
{{- end -}}

{{/* The webhook talks to the API server when it reads ServiceAccounts or manages its own certificate. */}}
{{- define "vault-irsa.needsApiToken" -}}
{{- or (eq .Values.webhook.kubernetes "auto") (eq .Values.tls.mode "auto") -}}
{{- end -}}

{{/* DNS names the API server uses to reach the Service; the serving certificate must carry them. */}}
{{- define "vault-irsa.serviceDnsNames" -}}
{{- $svc := include "vault-irsa.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
{{- end -}}

{{/* Fails the render early on combinations the schema cannot express. */}}
{{- define "vault-irsa.validate" -}}
{{- if and .Values.webhook.podDisruptionBudget.enabled (ge (int .Values.webhook.podDisruptionBudget.minAvailable) (int .Values.webhook.replicas)) (gt (int .Values.webhook.replicas) 1) -}}
{{- fail "webhook.podDisruptionBudget.minAvailable must be lower than webhook.replicas, or no node could ever be drained" -}}
{{- end -}}
{{- end -}}

{{/*
Where the webhook never injects, shared by the MutatingWebhookConfiguration and the ValidatingAdmissionPolicy so
the policy never demands a sidecar the webhook would not add: kube-system (a broken webhook must not stop the
control plane's own pods), the listed namespaces, this release's namespace, and the webhook's own pods.
*/}}
{{- define "vault-irsa.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- range .Values.webhook.excludedNamespaces }}
      - {{ . | quote }}
      {{- end }}
      {{- if not (has .Release.Namespace .Values.webhook.excludedNamespaces) }}
      - {{ .Release.Namespace | quote }}
      {{- end }}
{{- end -}}

{{- define "vault-irsa.objectSelector" -}}
matchExpressions:
  - key: vault-irsa.io/webhook-pod
    operator: NotIn
    values: ["true"]
{{- end -}}
