echo "submitted"
