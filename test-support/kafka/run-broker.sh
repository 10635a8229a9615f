#!/usr/bin/env bash
# Starts the tests' Kafka broker by hand, in the foreground: the same jars
# (fetched on first use into .cache/kafka/libs), configuration and JVM options
# as test-support/src/kafka-broker.ts, single-node KRaft on 127.0.0.1. Its data
# stays in .cache/kafka/data between runs (delete the folder to start empty).
# Ctrl-C stops it.
#
#   test-support/kafka/run-broker.sh            # bootstrap address 127.0.0.1:9092
#   KAFKA_PORT=19092 KAFKA_PARTITIONS=3 test-support/kafka/run-broker.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
partitions=${KAFKA_PARTITIONS:-1}
data=${KAFKA_DATA_DIR:-$root/.cache/kafka/data}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

libs=$("$here/fetch-broker.sh")
mkdir -p "$data"
config=$data/server.properties
sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
    -e "s|@LOG_DIR@|$data/log|g" -e "s|@PARTITIONS@|$partitions|g" \
    "$here/server.properties" > "$config"

jvm=(@"$here/jvm.options" "-Dlog4j2.configurationFile=$here/log4j2.properties" -cp "$libs/*")
# Formatted (with a new cluster id) the first time; later runs keep the log and its topics.
if [ ! -f "$data/log/meta.properties" ]; then
  "$java" "${jvm[@]}" kafka.tools.StorageTool format \
    --cluster-id "$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')" --config "$config" >/dev/null
fi

version=$(ls "$libs" | sed -n 's/^kafka_2\.13-\(.*\)\.jar$/\1/p')
echo "Kafka $version: bootstrap address 127.0.0.1:$port (data in $data); Ctrl-C stops it"
exec "$java" "${jvm[@]}" kafka.Kafka "$config"
