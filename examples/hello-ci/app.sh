#!/bin/sh
# The "application": prints its version.
echo "hello-ci version ${APP_VERSION:-dev}"
