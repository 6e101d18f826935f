#!/bin/sh
# SeaweedFS with S3 on 127.0.0.1:$S3_PORT, every other port from the environment too
# (the stack shares the host's network). The one identity signs with
# $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY.
set -eu
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
CONFIG=$(mktemp -d)/s3.json
cat >"$CONFIG" <<JSON
{"identities": [{"name": "codeforge",
  "credentials": [{"accessKey": "$AWS_ACCESS_KEY_ID", "secretKey": "$AWS_SECRET_ACCESS_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
exec weed server -dir=/data -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
  -master.volumeSizeLimitMB=256 -volume.max=32 \
  -master.port="$MASTER_PORT" -master.port.grpc="$((MASTER_PORT + 10000))" \
  -volume.port="$VOLUME_PORT" -volume.port.grpc="$((VOLUME_PORT + 10000))" \
  -filer -filer.port="$FILER_PORT" -filer.port.grpc="$((FILER_PORT + 10000))" \
  -s3 -s3.port="$S3_PORT" -s3.port.grpc="$((S3_PORT + 10000))" -s3.config="$CONFIG"
