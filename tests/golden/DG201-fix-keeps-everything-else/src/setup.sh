# src/setup.sh
