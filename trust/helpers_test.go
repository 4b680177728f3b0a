package trust_test

import (
	"errors"

	"github.com/lynctrust/lynctrust/trust"
)

func asConnectError(err error, ce **trust.ConnectError) bool { return errors.As(err, ce) }
