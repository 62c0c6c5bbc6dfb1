package storetest

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The history check must catch what it is there for: an over-sold seat, an
// acknowledged assignment that vanished, a denial while seats were free.
func TestCheckSeats(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(a, b int) (time.Time, time.Time) {
		return t0.Add(time.Duration(a) * time.Millisecond), t0.Add(time.Duration(b) * time.Millisecond)
	}
	op := func(client int, user string, o Outcome, a, b int) Op {
		c, r := at(a, b)
		return Op{Client: client, Org: "o", User: user, Outcome: o, Call: c, Return: r}
	}
	list := func(a, b int, users ...string) Op {
		c, r := at(a, b)
		return Op{Client: 9, Org: "o", IsList: true, List: users, Call: c, Return: r}
	}
	for _, tc := range []struct {
		name string
		ops  []Op
		want porcupine.CheckResult
	}{
		{"two seats, two users, a third denied", []Op{op(0, "a", Licensed, 0, 10), op(1, "b", Licensed, 5, 15), op(2, "c", Denied, 20, 30), list(40, 50, "a", "b")}, porcupine.Ok},
		{"concurrent claims for the last seat: one wins", []Op{op(0, "a", Licensed, 0, 10), op(1, "b", Denied, 0, 10), op(2, "c", Licensed, 0, 10), list(40, 50, "a", "c")}, porcupine.Ok},
		{"an unknown outcome that did assign", []Op{op(0, "a", Unknown, 0, 10), op(1, "b", Licensed, 20, 30), op(2, "c", Denied, 40, 50), list(60, 70, "a", "b")}, porcupine.Ok},
		{"an unknown outcome that did not", []Op{op(0, "a", Unknown, 0, 10), op(1, "b", Licensed, 20, 30), list(60, 70, "b")}, porcupine.Ok},
		{"over-sold", []Op{op(0, "a", Licensed, 0, 10), op(1, "b", Licensed, 20, 30), op(2, "c", Licensed, 40, 50)}, porcupine.Illegal},
		{"acknowledged assignment vanished", []Op{op(0, "a", Licensed, 0, 10), list(20, 30)}, porcupine.Illegal},
		{"licensed, later denied", []Op{op(0, "a", Licensed, 0, 10), op(1, "b", Licensed, 20, 30), op(0, "a", Denied, 40, 50)}, porcupine.Illegal},
		{"denied with a seat free", []Op{op(0, "a", Denied, 0, 10)}, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := CheckSeats(map[string]int{"o": 2}, tc.ops, 10*time.Second)
			if got != tc.want {
				t.Errorf("%s (%s); want %s", got, why, tc.want)
			}
		})
	}
}
