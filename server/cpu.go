package server

import (
	"strconv"
	"time"
)

// infoCPU writes INFO's CPU section from the process's resource usage
// (getrusage). Go has no main thread to speak of: the *_main_thread
// fields repeat the process's figures. Where the system gives no figures
// they are 0.
func infoCPU(b *infoBuilder) {
	self, children := cpuTimes()
	b.section("CPU")
	b.field("used_cpu_sys", cpuSeconds(self.sys))
	b.field("used_cpu_user", cpuSeconds(self.user))
	b.field("used_cpu_sys_children", cpuSeconds(children.sys))
	b.field("used_cpu_user_children", cpuSeconds(children.user))
	b.field("used_cpu_sys_main_thread", cpuSeconds(self.sys))
	b.field("used_cpu_user_main_thread", cpuSeconds(self.user))
}

// cpuUsage is the CPU time spent in the kernel and in user space.
type cpuUsage struct{ sys, user time.Duration }

// cpuSeconds renders d as Redis does: seconds with six decimals.
func cpuSeconds(d time.Duration) string {
	us := d.Microseconds()
	frac := strconv.FormatInt(us%1e6, 10)
	for len(frac) < 6 {
		frac = "0" + frac
	}
	return strconv.FormatInt(us/1e6, 10) + "." + frac
}
