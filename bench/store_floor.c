// The floor of a cache miss on the disk at hand: creates N entries of three
// files each, every file written to a temporary name and renamed into place,
// as llm-bridge's flat-file store does, and prints the CPU and wall time per
// entry. bench/run.sh compiles and runs it in the folder the benchmark's
// caches live in.
//
//   cc -O2 -o store_floor bench/store_floor.c && ./store_floor DIR N
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/resource.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static double cpu(void){struct rusage r;getrusage(RUSAGE_SELF,&r);return (r.ru_utime.tv_sec+r.ru_stime.tv_sec)*1e6+r.ru_utime.tv_usec+r.ru_stime.tv_usec;}
int main(int argc,char**argv){
  const char*dir=argv[1]; int n=atoi(argv[2]); char body[600]; memset(body,'x',sizeof body);
  const char*suf[3]={".request",".txt",".meta.json"}; char tmp[512],dst[512];
  double w0=now(),c0=cpu();
  for(int i=0;i<n;i++){ for(int s=0;s<3;s++){
    snprintf(tmp,sizeof tmp,"%s/.tmp-%064d%s.1-%d",dir,i,suf[s],i);
    snprintf(dst,sizeof dst,"%s/%064d%s",dir,i,suf[s]);
    int fd=open(tmp,O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC,0644); write(fd,body,sizeof body); close(fd); rename(tmp,dst);}}
  printf("entries=%d wall_us_per_entry=%.1f cpu_us_per_entry=%.1f\n",n,(now()-w0)/n,(cpu()-c0)/n);
  return 0;}
