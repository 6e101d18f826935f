{{- define "codeforge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "codeforge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: codeforge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "codeforge.selector" -}}
app.kubernetes.io/name: codeforge
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "codeforge.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The pod parts every CodeForge container shares: settings, secrets, writable folders. */}}
{{- define "codeforge.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "codeforge.fullname" . }}
  - secretRef:
      name: {{ required "existingSecret: name the Secret with the database, Redis and S3 credentials" .Values.existingSecret }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  - name: state
    mountPath: /var/lib/codeforge
{{- end -}}

{{- define "codeforge.volumes" -}}
volumes:
  - name: tmp
    emptyDir: {}
  - name: state
    emptyDir: {}
{{- end -}}
