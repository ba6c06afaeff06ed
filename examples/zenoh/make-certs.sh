#!/bin/sh
# A centre's certificate authority, a robot's certificate and a station's, for the TLS example
# (robot-tls.json5, station-tls.json5), with openssl. For a trial: a real centre keeps its CA
# key offline and gives each robot and station its own certificate.
#   make-certs.sh DIR ROBOT_HOST   (ROBOT_HOST: the name or IP address stations connect to)
set -eu
dir=${1:?usage: make-certs.sh DIR ROBOT_HOST}
host=${2:?usage: make-certs.sh DIR ROBOT_HOST}
mkdir -p "$dir"
cd "$dir"
case "$host" in
    *[!0-9.]*) san="DNS:$host" ;;
    *) san="IP:$host" ;;
esac
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=teleop centre CA" \
    -keyout centre-ca-key.pem -out centre-ca.pem 2>/dev/null
for who in robot station; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=teleop $who" \
        -keyout "$who-key.pem" -out "$who.csr" 2>/dev/null
    printf 'subjectAltName=%s\n' "$san" > "$who.ext"
    openssl x509 -req -in "$who.csr" -CA centre-ca.pem -CAkey centre-ca-key.pem \
        -CAcreateserial -days 30 -extfile "$who.ext" -out "$who-cert.pem" 2>/dev/null
    rm "$who.csr" "$who.ext"
done
echo "certificates for $host in $dir"
